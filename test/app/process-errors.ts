import { afterEach, beforeEach } from '@jest/globals';

/**
 * Collects every unhandledRejection/uncaughtException while a test runs, so the test can
 * assert none reached the process.
 */
export function watchProcessErrors(): { errors: unknown[] } {
  const state = { errors: [] as unknown[] };
  const onError = (error: unknown) => state.errors.push(error);
  beforeEach(() => {
    state.errors = [];
    process.on('unhandledRejection', onError);
    process.on('uncaughtException', onError);
  });
  afterEach(() => {
    process.off('unhandledRejection', onError);
    process.off('uncaughtException', onError);
  });
  return state;
}
