import type { Task } from '../core/task.js';
import { TasksError } from '../core/tasks.errors.js';
import { messages } from '../core/tasks.messages.js';

/**
 * How a failed task is tried again: the object form of the `retry` task option.
 *
 * @example
 * ```ts
 * @Task({ retry: { attempts: 5, delay: 500, backoff: 'exponential', maxDelay: 10_000, jitter: true } })
 * ```
 */
export interface RetryOptions {
  /** How many attempts in all, the first included: an integer >= 1. */
  readonly attempts: number;
  /**
   * Milliseconds to wait before the second attempt (and, with `'fixed'` backoff, before every one).
   * @default 1000
   */
  readonly delay?: number;
  /**
   * `'exponential'` doubles the wait after each failed attempt (`delay`, `2 × delay`, `4 × delay`…);
   * `'fixed'` waits `delay` every time.
   * @default 'exponential'
   */
  readonly backoff?: 'fixed' | 'exponential';
  /**
   * The longest wait between two attempts, in milliseconds.
   * @default 30000
   */
  readonly maxDelay?: number;
  /**
   * Multiply each wait by a random factor between 0.5 and 1, so that tasks failing together do
   * not retry together.
   * @default false
   */
  readonly jitter?: boolean;
  /**
   * Whether this failure is worth another attempt; without it every failure is, timeouts
   * included. A `retryIf` that throws counts as `false` (and is logged).
   * @example
   * ```ts
   * retryIf: (error) => !(error instanceof BadRequestException)
   * ```
   */
  readonly retryIf?: (error: unknown, task: Task) => boolean;
}

/** The `retry` task option: a number of attempts, the full options, or `false` for a single attempt. */
export type RetrySetting = number | false | RetryOptions;

/** A `retry` setting with every default filled in (internal). */
export interface RetryPolicy {
  readonly attempts: number;
  readonly delay: number;
  readonly backoff: 'fixed' | 'exponential';
  readonly maxDelay: number;
  readonly jitter: boolean;
  readonly retryIf?: (error: unknown, task: Task) => boolean;
}

const RETRY_FIELDS = ['attempts', 'delay', 'backoff', 'maxDelay', 'jitter', 'retryIf'];
const DEFAULT_DELAY = 1000;
const DEFAULT_MAX_DELAY = 30_000;

/** Validates a `retry` value and fills its defaults; `undefined` when it allows one attempt only. */
export function toRetryPolicy(value: RetrySetting | undefined): RetryPolicy | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value === 'number') {
    assertAttempts(value, '`retry`');
    return value === 1 ? undefined : defaults({ attempts: value });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TasksError(messages.badRetry(value));
  }
  for (const key of Object.keys(value)) {
    if (!RETRY_FIELDS.includes(key)) throw new TasksError(messages.unknownOption(key, '`retry`', RETRY_FIELDS));
  }
  assertAttempts(value.attempts, '`retry.attempts`');
  assertMillis(value.delay, '`retry.delay`');
  assertMillis(value.maxDelay, '`retry.maxDelay`');
  if (value.backoff !== undefined && value.backoff !== 'fixed' && value.backoff !== 'exponential') {
    throw new TasksError(
      messages.expected('`retry.backoff`', "'fixed' or 'exponential' (or undefined)", value.backoff),
    );
  }
  if (value.jitter !== undefined && typeof value.jitter !== 'boolean') {
    throw new TasksError(messages.expected('`retry.jitter`', 'a boolean or undefined', value.jitter));
  }
  if (value.retryIf !== undefined && typeof value.retryIf !== 'function') {
    throw new TasksError(messages.expected('`retry.retryIf`', 'a function `(error, task) => boolean`', value.retryIf));
  }
  return value.attempts === 1 ? undefined : defaults(value);
}

/** The wait before the attempt after `attempt` (1-based) failed. */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = policy.backoff === 'fixed' ? policy.delay : policy.delay * 2 ** (attempt - 1);
  const capped = Math.min(base, policy.maxDelay);
  return policy.jitter ? capped * (0.5 + random() / 2) : capped;
}

function defaults(options: RetryOptions): RetryPolicy {
  return {
    attempts: options.attempts,
    delay: options.delay ?? DEFAULT_DELAY,
    backoff: options.backoff ?? 'exponential',
    maxDelay: options.maxDelay ?? DEFAULT_MAX_DELAY,
    jitter: options.jitter ?? false,
    retryIf: options.retryIf,
  };
}

function assertAttempts(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TasksError(messages.expected(what, 'an integer >= 1 (the attempts in all, the first included)', value));
  }
}

/** Node's timers overflow past 2³¹−1 ms. */
function assertMillis(value: unknown, what: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new TasksError(messages.expected(what, 'a number of milliseconds from 0 to 2147483647, or undefined', value));
  }
}
