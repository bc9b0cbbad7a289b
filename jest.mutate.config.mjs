// The core project's jest settings for `npm run mutate` (StrykerJS): the unit suites of
// core/, ESM through SWC like jest.config.ts. The purity scan is left out: it reads the
// sources from disk, which Stryker rewrites with its own (impure-looking) instrumentation.
// MUTATE_TESTS=core/snapshot narrows the suites to one folder's own tests (a per-folder run
// then counts only what that folder's unit tests kill, and each mutant loads fewer suites).
// MUTATE_CJS=1 compiles the suites to CommonJS instead: no vm-modules linking per test file
// (core/engine's suites run in about half the time) and no runner that grows by about 1 GB a
// minute (with --maxTestRunnerReuse). core/engine's and core/policy's suites pass as
// CommonJS; core/manifest's limits suite (import.meta) needs the ESM default.
const folder = process.env.MUTATE_TESTS ?? 'core';
const cjs = process.env.MUTATE_CJS === '1';

export default {
  rootDir: '.',
  extensionsToTreatAsEsm: cjs ? [] : ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: cjs ? 'commonjs' : 'es6' },
      },
    ],
  },
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/testing/mutate-setup.ts'],
  testMatch: [`<rootDir>/${folder}/**/*.test.ts`],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/core/purity.test.ts'],
  modulePathIgnorePatterns: ['<rootDir>/.e2e-work/', '<rootDir>/dist/'],
};
