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
}

/** The task field names, for callers that accept them among other keys. */
export const TASK_FIELDS: readonly string[] = ['name', 'shield', 'onError', 'always'];

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
export class TaskConfig implements TaskOptions {
  readonly name?: string;
  readonly shield?: boolean;
  readonly onError?: TaskErrorHandler;
  readonly always?: boolean;

  /** Builds a config; throws a {@link TasksError} naming any field of the wrong type. */
  constructor(options: TaskOptions = {}) {
    assertTaskOptions(options, 'task options', TASK_FIELDS);
    this.name = options.name;
    this.shield = options.shield;
    this.onError = options.onError;
    this.always = options.always;
  }

  /**
   * Returns a new config where each field of `other` that is not `undefined` wins.
   * Neither `this` nor `other` is changed.
   */
  merge(other: TaskOptions): TaskConfig {
    return new TaskConfig({
      name: other.name !== undefined ? other.name : this.name,
      shield: other.shield !== undefined ? other.shield : this.shield,
      onError: other.onError !== undefined ? other.onError : this.onError,
      always: other.always !== undefined ? other.always : this.always,
    });
  }
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
  expectType(record.name, 'string', '`name`', 'a string');
  expectType(record.shield, 'boolean', '`shield`', 'a boolean');
  expectType(record.onError, 'function', '`onError`', 'a function `(task, error) => void`');
  expectType(record.always, 'boolean', '`always`', 'a boolean');
}

function expectType(value: unknown, type: string, what: string, expectation: string): void {
  if (value !== undefined && typeof value !== type) {
    throw new TasksError(messages.expected(what, `${expectation} or undefined`, value));
  }
}
