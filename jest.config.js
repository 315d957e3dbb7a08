/** Jest runs the TypeScript sources as ESM (Nest 12 is ESM only), transformed by SWC. */
export default {
  // Jest's node environment, plus a way for test/app/process-errors.ts to hear the real process.
  testEnvironment: '<rootDir>/test/app/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/test/consumers/'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
        },
        module: { type: 'es6' },
      },
    ],
  },
  testTimeout: 20000,
};
