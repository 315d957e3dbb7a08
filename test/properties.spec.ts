import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import fc from 'fast-check';
import { TaskConfig, TasksError, TasksModule, TasksService } from '../lib/index.js';
import { describeValue, messages } from '../lib/core/tasks.messages.js';

const RUNS = 1000;
const TASK_KEYS = ['name', 'shield', 'onError', 'always', 'timeout', 'retry', 'concurrency', 'queueLimit', 'group'];
const TYPES: Record<string, string> = {
  name: 'string',
  shield: 'boolean',
  onError: 'function',
  always: 'boolean',
  group: 'string',
};

const isCount = (value: unknown, min: number) =>
  value === Infinity || (typeof value === 'number' && Number.isInteger(value) && value >= min);
const isMillis = (value: unknown) => typeof value === 'number' && value >= 0 && value <= 2 ** 31 - 1;

/** The documented `retry` rule: attempts >= 1, false, or an options object of known, well-typed fields. */
function acceptableRetry(value: unknown): boolean {
  if (value === false) return true;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const known = ['attempts', 'delay', 'backoff', 'maxDelay', 'jitter', 'retryIf'];
  const record = value as Record<string, unknown>;
  if (!Object.keys(record).every((key) => known.includes(key))) return false;
  const { attempts, delay, backoff, maxDelay, jitter, retryIf } = record;
  return (
    typeof attempts === 'number' &&
    Number.isInteger(attempts) &&
    attempts >= 1 &&
    (delay === undefined || isMillis(delay)) &&
    (maxDelay === undefined || isMillis(maxDelay)) &&
    (backoff === undefined || backoff === 'fixed' || backoff === 'exponential') &&
    (jitter === undefined || typeof jitter === 'boolean') &&
    (retryIf === undefined || typeof retryIf === 'function')
  );
}

/** The rules of the fields that are not a plain type check. */
const RULES: Record<string, (value: unknown) => boolean> = {
  shutdownTimeout: (value) => acceptableTimeout(value),
  maxConcurrency: (value) => isCount(typeof value === 'string' ? numericText(value) : value, 1),
  timeout: (value) => typeof value === 'number' && value > 0,
  concurrency: (value) => isCount(value, 1),
  queueLimit: (value) => isCount(value, 0),
  retry: acceptableRetry,
};

/** A numeric environment string as a number, else NaN. */
function numericText(value: string): number {
  return acceptableTimeout(value) ? Number(value) : NaN;
}

/** The documented rule, written independently of the library: is `options` acceptable? */
function acceptable(options: unknown, keys: string[]): boolean {
  if (options === undefined) return true; // omitted: every default
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return false;
  return Object.entries(options).every(([key, value]) => {
    if (!keys.includes(key)) return false;
    if (value === undefined) return true;
    const rule = RULES[key];
    if (rule !== undefined) return rule(value);
    return typeof value === TYPES[key];
  });
}

/** A number >= 0 or Infinity, or a trimmed string of digits (optionally with decimals) or "Infinity". */
function acceptableTimeout(value: unknown): boolean {
  if (typeof value === 'number') return value >= 0;
  if (typeof value !== 'string') return false;
  const text = value.trim();
  if (text === 'Infinity') return true;
  const [whole, fraction, ...rest] = text.split('.');
  const digits = (part: string | undefined) =>
    part !== undefined && part !== '' && [...part].every((c) => c >= '0' && c <= '9');
  return rest.length === 0 && digits(whole) && (fraction === undefined || digits(fraction));
}

/** Option objects mixing good and bad values for every field, and unknown keys. */
const fieldValue = fc.oneof(
  fc.anything(),
  fc.string(),
  fc.boolean(),
  fc.constant(() => undefined),
  fc.double(),
  fc.constantFrom('10000', ' 5 ', '1.5', 'Infinity', '', '10s', '-1', '1.', '.5'),
  fc.constantFrom(0, 1, 3, 2.5, -1, Infinity, NaN, 2 ** 31, false, 'fixed'),
  fc.record(
    {
      attempts: fc.constantFrom(0, 1, 3, 1.5, '3'),
      delay: fc.constantFrom(0, 10, -5, Infinity, 2 ** 31),
      backoff: fc.constantFrom('fixed', 'exponential', 'linear'),
      maxDelay: fc.constantFrom(0, 100, NaN),
      jitter: fc.constantFrom(true, false, 1),
      retryIf: fc.constantFrom(() => true, 'yes'),
      tries: fc.constant(2),
    },
    { requiredKeys: [] },
  ),
  fc.stringMatching(/^\s?\d{1,3}(\.\d{0,2})?\s?$/),
  fc.constant(undefined),
);
const optionsArbitrary = (keys: string[]) =>
  fc.oneof(
    fc.anything(),
    fc.dictionary(fc.constantFrom(...keys, 'sheild', 'timeout', 'constructor'), fieldValue, { maxKeys: 5 }),
  );

/** A call either works or throws a TasksError that names a value; never anything else. */
function expectWorksOrNamedError(call: () => unknown, ok: boolean): void {
  let thrown: unknown;
  try {
    call();
  } catch (error) {
    thrown = error;
  }
  if (ok) {
    expect(thrown).toBeUndefined();
    return;
  }
  expect(thrown).toBeInstanceOf(TasksError);
  expect((thrown as Error).message).toMatch(/^(Expected .+, got `.*` \(\w+\)\.|Unknown option `.*` in .+\.)/s);
}

const bounded = <T>(promise: Promise<T>, ms = 2000) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('hung')), ms))]);

describe('public API under random input (fast-check)', () => {
  @Module({ imports: [TasksModule.forRoot()] })
  class PropertyModule {}
  let app: INestApplicationContext;
  let tasks: TasksService;

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(PropertyModule, { logger: false });
    tasks = app.get(TasksService);
  });
  afterAll(() => app.close());

  it('new TaskConfig(x) and tasks.task(x) build a config or throw a TasksError naming the value', () => {
    fc.assert(
      fc.property(optionsArbitrary(TASK_KEYS), (options) => {
        const ok = acceptable(options, TASK_KEYS);
        expectWorksOrNamedError(() => new TaskConfig(options as never), ok);
        expectWorksOrNamedError(() => tasks.afterResponse.task(options as never), ok);
        if (ok) {
          expect({ ...new TaskConfig(options as never) }).toEqual({
            name: undefined,
            shield: undefined,
            onError: undefined,
            always: undefined,
            timeout: undefined,
            retry: undefined,
            concurrency: undefined,
            queueLimit: undefined,
            group: undefined,
            ...(options as object),
          });
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('TasksModule.forRoot(x) works or throws a TasksError naming the value, at the call', () => {
    const keys = [...TASK_KEYS, 'shutdownTimeout', 'maxConcurrency'];
    fc.assert(
      fc.property(optionsArbitrary(keys), (options) => {
        expectWorksOrNamedError(() => TasksModule.forRoot(options as never), acceptable(options, keys));
      }),
      { numRuns: RUNS },
    );
  });

  it('schedule(x, ...args) runs a function or throws naming the non-function, leaving nothing pending', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.constant(() => 'sync'),
          fc.constant(async () => 'async'),
        ),
        fc.array(fc.anything(), { maxLength: 3 }),
        async (fn, args) => {
          let thrown: unknown;
          try {
            tasks.schedule(fn as never, ...(args as never[]));
          } catch (error) {
            thrown = error;
          }
          if (typeof fn === 'function') expect(thrown).toBeUndefined();
          else expect(thrown).toEqual(new TasksError(messages.notAFunction(fn)));
          await bounded(tasks.onIdle());
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('afterRoute/afterResponse outside a request always throw a TasksError and leave nothing pending', async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), fc.constantFrom('afterRoute', 'afterResponse'), async (fn, mode) => {
        const scheduler = mode === 'afterRoute' ? tasks.afterRoute : tasks.afterResponse;
        expect(() => scheduler.schedule(fn as never)).toThrow(TasksError);
        await bounded(tasks.onIdle());
      }),
      { numRuns: RUNS },
    );
  });

  it('names every value it describes without throwing', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(typeof describeValue(value)).toBe('string');
      }),
      { numRuns: RUNS },
    );
  });
});

describe('scheduling after shutdown (fast-check)', () => {
  it('refuses shielded tasks at the call and drops unshielded ones once the app has closed; onIdle still resolves', async () => {
    @Module({ imports: [TasksModule.forRoot()] })
    class ClosedModule {}
    const app = await NestFactory.createApplicationContext(ClosedModule, { logger: false });
    const tasks = app.get(TasksService);
    await app.close();
    await fc.assert(
      fc.asyncProperty(fc.option(fc.boolean(), { nil: undefined }), async (shield) => {
        let ran = false;
        const schedule = () =>
          tasks.task({ shield }).schedule(() => {
            ran = true;
          });
        if (shield === true) expect(schedule).toThrow(TasksError);
        else schedule();
        await bounded(tasks.onIdle());
        expect(ran).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});
