/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

// ESM all the way: sources are TypeScript ESM (NodeNext, `.js` import suffixes),
// transformed by SWC and run under `--experimental-vm-modules`.
const transform: Config['transform'] = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    },
  ],
};

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform,
  testEnvironment: 'node',
  // Build caches of the e2e suites hold copies of package.json.
  modulePathIgnorePatterns: [
    '<rootDir>/.e2e-work/',
    '<rootDir>/dist/',
    '<rootDir>/.stryker-tmp.*/',
  ],
} satisfies Config;

const config: Config = {
  projects: [
    { ...common, displayName: 'core', testMatch: ['<rootDir>/core/**/*.test.ts'] },
    { ...common, displayName: 'sim', testMatch: ['<rootDir>/sim/**/*.test.ts'] },
    {
      ...common,
      displayName: 'adapters',
      testMatch: [
        '<rootDir>/adapters/**/*.test.ts',
        '<rootDir>/scripts/**/*.test.ts',
        '<rootDir>/testing/**/*.test.ts',
      ],
      testPathIgnorePatterns: ['/node_modules/', '\\.pack\\.test\\.ts$'],
    },
    // `npm pack` + a global install into a temp prefix: its own stage (slow, uses npm).
    { ...common, displayName: 'pack', testMatch: ['<rootDir>/adapters/**/*.pack.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/e2e/**/*.test.ts'] },
  ],
};

export default config;
