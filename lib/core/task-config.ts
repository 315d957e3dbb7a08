import { toRetryPolicy, type RetryPolicy, type RetrySetting } from '../control/retry-policy.js';
import type { Task } from './task.js';
import { TasksError } from './tasks.errors.js';
import { messages } from './tasks.messages.js';

/**
 * Called with the failed task and what it threw, instead of the default error log.
 * May be async; if it throws or rejects, both errors are logged.
 */
export type TaskErrorHandler = (task: Task, error: unknown) => void | Promise<void>;

/** The per-task settings: every field is optional, and `undefined` means "inherit". */
export interface TaskOptions {
  /**
   * Name used in logs and in `task.name`.
   * @default the function's name, else `'anonymous task'`
   */
  readonly name?: string;
  /**
   * Keep running at shutdown: the module waits for shielded tasks (up to `shutdownTimeout`)
   * instead of aborting their `signal`.
   * @default false
   */
  readonly shield?: boolean;
  /**
   * Receives `(task, error)` when the task throws or rejects; without it the error is
   * logged through Nest's `Logger`.
   * @default undefined (log the error)
   */
  readonly onError?: TaskErrorHandler;
  /**
   * Run an afterRoute/afterResponse task even when its request failed (the handler threw,
   * or a guard, pipe or interceptor rejected).
   * @default false
   */
  readonly always?: boolean;
  /**
   * The longest one attempt may run, in milliseconds (> 0; `Infinity` for no limit). Past it the
   * task's `signal` aborts with a {@link TaskTimeoutError} and the attempt fails with that error:
   * it is retried if `retry` allows, else handed to `onError`. The task settles then (for
   * `onIdle()`, the shutdown drain and its concurrency slot) even if its function ignores the
   * signal and goes on.
   * @default Infinity
   * @example
   * ```ts
   * @Task({ timeout: 5_000 })
   * async fetchRates(signal = currentTask()?.signal) {}
   * ```
   */
  readonly timeout?: number;
  /**
   * Try a failed task again: a number of attempts in all (the first included), the full
   * {@link RetryOptions}, or `false` for one attempt. `onError` is called once, after the last
   * attempt. Options are replaced as a whole by a later layer, not merged field by field.
   * @default false (one attempt)
   * @example
   * ```ts
   * tasks.task({ retry: { attempts: 5, delay: 200, backoff: 'exponential' } }).schedule(charge, id);
   * ```
   */
  readonly retry?: RetrySetting;
  /**
   * The most tasks of this task's group (its `group`, else its name) running at once: an
   * integer >= 1, or `Infinity`. Tasks over the limit wait in first-in first-out order.
   * @default Infinity
   * @example
   * ```ts
   * @Task({ name: 'send_email', concurrency: 5 })
   * ```
   */
  readonly concurrency?: number;
  /**
   * The most tasks of this task's group that may wait: those queued for a `concurrency` slot
   * plus afterRoute/afterResponse tasks still waiting for their request. When it is reached,
   * `schedule()` and `call()` throw a {@link TaskQueueFullError} (an integer >= 0, or `Infinity`).
   * @default Infinity
   */
  readonly queueLimit?: number;
  /**
   * The group whose `concurrency`, `queueLimit` and statistics this task shares.
   * @default the task's name
   */
  readonly group?: string;
  /**
   * Hand the task to a durable queue instead of running it here: it runs on a worker process, at
   * least once, and survives a crash of this one. Needs `DurableTasksModule` from
   * `'nestjs-tasks/bullmq'`, and a `@Task()` method of a singleton provider with an explicit
   * `name`. Its arguments must survive JSON.
   * @default false
   * @example
   * ```ts
   * @Task({ name: 'send_receipt', durable: true, retry: 5 })
   * async sendReceipt(orderId: string) {}
   * ```
   */
  readonly durable?: boolean;
}

/** Every task field, as a config holds it: present, `undefined` when no layer set it. */
type TaskFields = { readonly [K in keyof Required<TaskOptions>]: TaskOptions[K] };

/**
 * The one list of task fields, each with its check (which throws a {@link TasksError} naming the
 * field and what it takes): validation, `merge()` and the module's cache key all walk it, and
 * TypeScript refuses it without an entry for each field of {@link TaskOptions}.
 */
const FIELD_CHECKS: { readonly [K in keyof TaskFields]: (value: unknown) => void } = {
  name: (value) => expectType(value, 'string', '`name`', 'a string'),
  shield: (value) => expectType(value, 'boolean', '`shield`', 'a boolean'),
  onError: (value) => expectType(value, 'function', '`onError`', 'a function `(task, error) => void`'),
  always: (value) => expectType(value, 'boolean', '`always`', 'a boolean'),
  timeout: (value) =>
    expectNumber(value, '`timeout`', 'a number of milliseconds > 0, or Infinity for none', (n) => n > 0),
  retry: (value) => {
    if (value !== undefined) toRetryPolicy(value as RetrySetting);
  },
  concurrency: (value) => expectNumber(value, '`concurrency`', 'an integer >= 1, or Infinity', (n) => atLeast(n, 1)),
  queueLimit: (value) => expectNumber(value, '`queueLimit`', 'an integer >= 0, or Infinity', (n) => atLeast(n, 0)),
  group: (value) => expectType(value, 'string', '`group`', 'a string'),
  durable: (value) => expectType(value, 'boolean', '`durable`', 'a boolean'),
};

/** The task field names, for callers that accept them among other keys. */
export const TASK_FIELDS = Object.keys(FIELD_CHECKS) as readonly (keyof TaskFields)[];

/** Marks the next `new TaskConfig()` as an ordinary, validated one. */
const UNTRUSTED: unique symbol = Symbol('untrusted');
/** Set just before `merge()` builds a config from two validated ones: the retry policy it inherits. */
let trustedPolicy: RetryPolicy | undefined | typeof UNTRUSTED = UNTRUSTED;
let readRetryPolicy: (config: TaskConfig) => RetryPolicy | undefined;
/** The merges made, by layer: a layer merged onto the same base again gives the same config. */
const merged = new WeakMap<TaskConfig, WeakMap<TaskConfig, TaskConfig>>();

/**
 * A task configuration. Layers merge as global (`forRoot`) < `@Task()` < call site
 * (`.task({...})`), each defined field of the later layer winning.
 *
 * @example
 * ```ts
 * const base = new TaskConfig({ name: 'audit', shield: true });
 * const merged = base.merge({ shield: false }); // name 'audit', shield false
 * ```
 */
export class TaskConfig implements TaskFields {
  readonly name: string | undefined;
  readonly shield: boolean | undefined;
  readonly onError: TaskErrorHandler | undefined;
  readonly always: boolean | undefined;
  readonly timeout: number | undefined;
  readonly retry: RetrySetting | undefined;
  readonly concurrency: number | undefined;
  readonly queueLimit: number | undefined;
  readonly group: string | undefined;
  readonly durable: boolean | undefined;
  /** `retry` with its defaults filled in, made once: undefined for a single attempt. */
  #retryPolicy?: RetryPolicy;

  static {
    readRetryPolicy = (config) => config.#retryPolicy;
  }

  /** Builds a config; throws a {@link TasksError} naming any field of the wrong type. */
  constructor(options: TaskOptions = {}) {
    const trusted = trustedPolicy;
    trustedPolicy = UNTRUSTED;
    if (trusted === UNTRUSTED) assertTaskOptions(options, 'task options', TASK_FIELDS);
    const fields = this as Record<keyof TaskFields, unknown>;
    for (const field of TASK_FIELDS) fields[field] = options[field];
    if (trusted !== UNTRUSTED) this.#retryPolicy = trusted;
    else if (options.retry !== undefined) this.#retryPolicy = toRetryPolicy(options.retry);
  }

  /**
   * Returns a new config where each field of `other` that is not `undefined` wins.
   * Neither `this` nor `other` is changed. Merging the same two configs again returns the same
   * result object.
   */
  merge(other: TaskOptions): TaskConfig {
    if (!(other instanceof TaskConfig)) return new TaskConfig(mergeFields(this, other));
    let byOther = merged.get(this);
    if (byOther === undefined) merged.set(this, (byOther = new WeakMap()));
    let result = byOther.get(other);
    if (result === undefined) {
      // Both layers were validated when they were built: only the fields are copied.
      trustedPolicy = other.retry !== undefined ? other.#retryPolicy : this.#retryPolicy;
      byOther.set(other, (result = new TaskConfig(mergeFields(this, other))));
    }
    return result;
  }
}

/** Each field of `other` that is not `undefined`, else that of `base`. */
function mergeFields(base: TaskOptions, other: TaskOptions): TaskOptions {
  const fields: Record<string, unknown> = {};
  for (const field of TASK_FIELDS) fields[field] = other[field] !== undefined ? other[field] : base[field];
  return fields;
}

/** The retry policy of a config: `undefined` for a single attempt (internal). */
export function retryPolicyOf(config: TaskConfig): RetryPolicy | undefined {
  return readRetryPolicy(config);
}

/**
 * Checks an options object: no unknown keys, and each known task field of the right type.
 * `allowed` lists every key the caller accepts (task fields plus any module settings).
 */
export function assertTaskOptions(options: unknown, where: string, allowed: readonly string[]): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TasksError(messages.expected(where, 'an object', options));
  }
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) throw new TasksError(messages.unknownOption(key, where, allowed));
  }
  for (const field of TASK_FIELDS) FIELD_CHECKS[field](record[field]);
}

/** An integer >= `min`, or Infinity. */
function atLeast(value: number, min: number): boolean {
  return value === Infinity || (Number.isInteger(value) && value >= min);
}

function expectNumber(value: unknown, what: string, expectation: string, valid: (n: number) => boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || Number.isNaN(value) || !valid(value)) {
    throw new TasksError(messages.expected(what, `${expectation} (or undefined)`, value));
  }
}

function expectType(value: unknown, type: string, what: string, expectation: string): void {
  if (value !== undefined && typeof value !== type) {
    throw new TasksError(messages.expected(what, `${expectation} or undefined`, value));
  }
}
