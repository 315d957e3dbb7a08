import type { Task } from './task.js';

/** How a task ended: the outcome counters of `tasks.stats()`. */
export type TaskOutcome = 'succeeded' | 'failed' | 'timedOut' | 'dropped' | 'aborted';

/**
 * Hooks into the life of every task, for nestjs-tasks' own integrations (OpenTelemetry, the
 * testing kit): registered with `TaskRunner.observe()`. Each hook is optional, runs
 * synchronously, and must not throw (what it throws is logged and ignored). Nothing is called,
 * and nothing costs, while no observer is registered.
 */
export interface TaskObserver {
  /** The task was scheduled: `schedule()` or `call()` is about to return it. In the scheduling context. */
  scheduled?(task: Task): void;
  /**
   * The task is about to start its first attempt: return true to hold it instead (the testing
   * kit's capture mode). A held task settles at once as `dropped`, and is not run.
   */
  intercept?(task: Task): boolean;
  /**
   * Wraps the call of one attempt's function, in the scheduling context with `currentTask()`
   * already the task: call `run` once and return what it returns (to make a span active around
   * it, say).
   */
  around?(task: Task, run: () => unknown): unknown;
  /** One attempt ended: `error` is undefined when it succeeded; `timedOut` when its timeout ended it. */
  attemptEnded?(task: Task, error: unknown, timedOut: boolean): void;
  /**
   * The task settled, once: with the last error for `failed` and `timedOut`, the reason (a log
   * message) for `dropped`, the abort reason for `aborted`.
   */
  settled?(task: Task, outcome: TaskOutcome, detail: unknown): void;
}
