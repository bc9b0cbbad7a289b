// The core project's jest settings for `npm run mutate` (StrykerJS): the unit suites of
// core/, ESM through SWC like jest.config.ts. The purity scan is left out: it reads the
// sources from disk, which Stryker rewrites with its own (impure-looking) instrumentation.
// MUTATE_TESTS=core/snapshot narrows the suites to one folder's own tests (a per-folder run
// then counts only what that folder's unit tests kill, and each mutant loads fewer suites).
const folder = process.env.MUTATE_TESTS ?? 'core';

export default {
  rootDir: '.',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
      },
    ],
  },
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/testing/mutate-setup.ts'],
  testMatch: [`<rootDir>/${folder}/**/*.test.ts`],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/core/purity.test.ts'],
  modulePathIgnorePatterns: ['<rootDir>/.e2e-work/', '<rootDir>/dist/'],
};
