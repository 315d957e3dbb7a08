import { afterAll, beforeAll, beforeEach, expect } from '@jest/globals';

/** One event the real process emitted while the guard held it. */
export interface ProcessError {
  event: 'unhandledRejection' | 'uncaughtException';
  error: unknown;
}

export interface ProcessErrors {
  /** Everything collected and not yet checked. */
  readonly errors: ProcessError[];
  /** Asserts that nothing was collected, and empties the collection (so a failure is reported once). */
  expectNone(): void;
  /** Resolves once `count` errors are collected; rejects after `timeoutMs` (a bounded wait). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
}

type TakeProcessErrors = (listener: (event: ProcessError['event'], error: unknown) => void) => () => void;

/** Set by test/app/environment.js, the test environment named in jest.config.js. */
function takeProcessErrors(): TakeProcessErrors {
  const take = (globalThis as Record<symbol, unknown>)[Symbol.for('nestjs-tasks.test.takeProcessErrors')];
  if (typeof take !== 'function') {
    throw new Error(
      'watchProcessErrors() needs the test environment test/app/environment.js (jest.config.js `testEnvironment`): the `process` Jest gives a test never emits unhandledRejection/uncaughtException.',
    );
  }
  return take as TakeProcessErrors;
}

/**
 * Collects every `unhandledRejection` and `uncaughtException` of the real process while the
 * tests of the calling `describe` block run, so each test can assert that none happened
 * (`processErrors.expectNone()`, after the app is closed).
 *
 * For the whole block the guard, not Jest, owns those events: Jest would fail the test anyway,
 * but only by accident of its own handling, and a test could not show that a fault was caught.
 * An error collected and not checked (one that arrived after a test's check) fails the next test,
 * or the block after its last test.
 */
export function watchProcessErrors(): ProcessErrors {
  const take = takeProcessErrors();
  let release: (() => void) | undefined;
  let waiters: { count: number; resolve: () => void }[] = [];
  const state: ProcessErrors = {
    errors: [],
    expectNone() {
      expect(state.errors.splice(0)).toEqual([]);
    },
    waitFor(count, timeoutMs = 5000) {
      if (state.errors.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `timed out after ${timeoutMs} ms waiting for ${count} process error(s); saw ${state.errors.length}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
  const collect = (event: ProcessError['event'], error: unknown) => {
    state.errors.push({ event, error });
    waiters = waiters.filter((waiter) => (waiter.count <= state.errors.length ? (waiter.resolve(), false) : true));
  };
  const show = (error: unknown) => {
    try {
      return String(error);
    } catch {
      return '[unprintable]';
    }
  };
  /** Empties the collection into an error, so one late error fails one test, not every later one. */
  const unchecked = (when: string) => {
    const found = state.errors.splice(0).map(({ event, error }) => `${event}: ${show(error)}`);
    return new Error(`${found.length} process error(s) arrived ${when}: ${found.join('; ')}`);
  };

  beforeAll(() => {
    release = take(collect);
  });
  beforeEach(() => {
    if (state.errors.length > 0) throw unchecked('unchecked during or after the previous test');
  });
  afterAll(() => {
    release?.();
    if (state.errors.length > 0) throw unchecked('unchecked during or after the last test of the block');
  });
  return state;
}
