import type { AsyncResource } from 'node:async_hooks';
import type { Task } from './task.js';
import type { TaskConfig } from './task-config.js';
import { ANONYMOUS_TASK } from './tasks.constants.js';

/** Where a task is in its life. Every transition goes through the TaskRunner. */
export type TaskState = 'pending' | 'running' | 'settled';

/** The library's own record of a task: the public {@link Task} plus its bookkeeping. */
export class ScheduledTask implements Task {
  readonly name: string;
  state: TaskState = 'pending';
  private controller?: AbortController;

  constructor(
    readonly func: (...args: unknown[]) => unknown,
    readonly args: readonly unknown[],
    readonly config: TaskConfig,
    /**
     * The async context where a deferred task was scheduled, to start it in. Immediate tasks
     * have none: they start from the scheduling context itself.
     */
    readonly context?: AsyncResource,
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
