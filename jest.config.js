// Types are checked once by `npm run typecheck` (tsc --noEmit); ts-jest runs with isolatedModules
// so a spec compiles in milliseconds instead of re-type-checking the whole program per file.
const shared = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  moduleNameMapper: {
    '^nestjs-sre$': '<rootDir>/libs/sre/src',
    '^nestjs-sre/(.*)$': '<rootDir>/libs/sre/src/$1',
    // see the file: an ESM-only transitive dependency of the Milvus SDK
    '^uuid$': '<rootDir>/test/support/uuid-cjs.js',
  },
};

/** @type {import('jest').Config} */
module.exports = {
  cacheDirectory: '<rootDir>/.jest-cache',
  globalSetup: '<rootDir>/test/support/global-setup.js',
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/src/**/*.spec.ts'] },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
