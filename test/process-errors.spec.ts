import { describe, expect, it } from '@jest/globals';
import { watchProcessErrors } from './app/process-errors.js';

/**
 * The guard other specs rely on (`processErrors.expectNone()`) must see the real
 * process's events: a deliberate fault, raised the way a library bug would raise it, is collected.
 */
describe('the process-error guard', () => {
  const processErrors = watchProcessErrors();

  it('collects an unhandled rejection from a microtask and an uncaught exception from a timer', async () => {
    const rejection = new Error('deliberate unhandled rejection');
    const exception = new Error('deliberate uncaught exception');
    setTimeout(() => {
      void Promise.resolve().then(() => {
        throw rejection;
      });
    }, 1);
    setTimeout(() => {
      throw exception;
    }, 1);
    await processErrors.waitFor(2);
    expect(processErrors.errors).toEqual(
      expect.arrayContaining([
        { event: 'unhandledRejection', error: rejection },
        { event: 'uncaughtException', error: exception },
      ]),
    );
    expect(processErrors.errors).toHaveLength(2);
    processErrors.errors.splice(0); // both faults were expected: the next test starts empty
  });

  it('starts the next test with nothing collected', () => {
    processErrors.expectNone();
  });
});
