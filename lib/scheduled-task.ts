import { AsyncLocalStorage } from 'node:async_hooks';
import type { Task } from './task.js';
import type { TaskConfig } from './task-config.js';
import { ANONYMOUS_TASK } from './tasks.constants.js';

/** Where a task is in its life. Every transition goes through the TaskRunner. */
export type TaskState = 'pending' | 'running' | 'settled';

/** The library's own record of a task: the public {@link Task} plus its bookkeeping. */
export class ScheduledTask implements Task {
  readonly name: string;
  state: TaskState = 'pending';
  /** Runs a function in the async context that was active where the task was scheduled. */
  readonly inContext: <R>(fn: () => R) => R = AsyncLocalStorage.snapshot();
  private controller?: AbortController;

  constructor(
    readonly func: (...args: unknown[]) => unknown,
    readonly args: readonly unknown[],
    readonly config: TaskConfig,
  ) {
    this.name = config.name ?? (func.name.replace(/^bound /, '') || ANONYMOUS_TASK);
  }

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  abort(reason: string): void {
    (this.controller ??= new AbortController()).abort(new Error(reason));
  }
}
