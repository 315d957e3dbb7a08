/** Jest runs the TypeScript sources as ESM (Nest 12 is ESM only), transformed by SWC. */
export default {
  // Jest's node environment, plus a way for test/app/process-errors.ts to hear the real process.
  testEnvironment: '<rootDir>/test/app/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/test/consumers/'],
  extensionsToTreatAsEsm: ['.ts'],
  // The sample app imports the package by name: map it (and its subpaths) to the sources.
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^nestjs-tasks$': '<rootDir>/lib/index.ts',
    '^nestjs-tasks/(.*)$': '<rootDir>/lib/$1/index.ts',
  },
  // mercurius requires @fastify/static, which requires the ESM-only content-disposition@3: Jest's
  // CommonJS loader cannot require ESM on Node 20, so that one package is compiled to CommonJS.
  transformIgnorePatterns: ['^(?!.*/node_modules/content-disposition/).*/node_modules/'],
  transform: {
    '/node_modules/content-disposition/.+\\.js$': [
      '@swc/jest',
      { jsc: { target: 'es2022' }, module: { type: 'commonjs' } },
    ],
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
