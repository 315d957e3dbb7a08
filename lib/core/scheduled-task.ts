import type { Task } from './task.js';
import type { TaskConfig } from './task-config.js';
import type { TaskRunner } from './task-runner.js';
import { ANONYMOUS_TASK } from './tasks.constants.js';

/** Where a task is in its life. Every transition goes through the TaskRunner. */
export type TaskState = 'pending' | 'running' | 'settled';

/** The library's own record of a task: the public {@link Task} plus its bookkeeping. */
export class ScheduledTask implements Task {
  readonly name: string;
  state: TaskState = 'pending';
  private controller?: AbortController;

  constructor(
    /** The runner that created the task: the only one that may start, drop or settle it. */
    readonly runner: TaskRunner,
    readonly func: (...args: unknown[]) => unknown,
    readonly args: readonly unknown[],
    readonly config: TaskConfig,
  ) {
    this.name = config.name ?? nameOf(func);
  }

  /**
   * Starts a deferred task: resolves the promise made where it was scheduled, whose reaction
   * runs in that async context. Immediate tasks have none: they start from that context itself.
   */
  release?: (task: ScheduledTask) => void;

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  /** Whether the library has aborted the task's signal (only the library can). */
  get aborted(): boolean {
    return this.controller?.signal.aborted === true;
  }

  abort(reason: string): void {
    (this.controller ??= new AbortController()).abort(new Error(reason));
  }
}

function nameOf(func: { name: string }): string {
  const name = func.name;
  if (name === '') return ANONYMOUS_TASK;
  return name.startsWith('bound ') ? name.slice(6) || ANONYMOUS_TASK : name;
}
