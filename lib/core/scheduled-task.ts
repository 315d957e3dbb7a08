import type { AsyncResource } from 'node:async_hooks';
import type { TaskGroup } from '../control/task-groups.js';
import type { Task } from './task.js';
import type { TaskConfig } from './task-config.js';
import type { TaskRunner } from './task-runner.js';
import { ANONYMOUS_TASK } from './tasks.constants.js';
import type { TaskMode } from './tasks.messages.js';

/**
 * Where a task is in its life. Every transition goes through the TaskRunner: `new` (created,
 * not yet counted; an immediate task leaves it when it starts) → `pending` (a deferred task
 * waiting for its request) → `queued` (waiting for a concurrency slot) → `running` → `retrying`
 * (waiting for its next attempt) → … → `settled`.
 */
export type TaskState = 'new' | 'pending' | 'queued' | 'running' | 'retrying' | 'settled';

/** The library's own record of a task: the public {@link Task} plus its bookkeeping. */
export class ScheduledTask implements Task {
  readonly name: string;
  state: TaskState = 'new';
  attempt = 0;
  private controller?: AbortController;

  constructor(
    /** The runner that created the task: the only one that may start, drop or settle it. */
    readonly runner: TaskRunner,
    readonly func: (...args: unknown[]) => unknown,
    readonly args: readonly unknown[],
    readonly config: TaskConfig,
    readonly mode: TaskMode,
    groups: { get(name: string): TaskGroup },
  ) {
    this.name = config.name ?? nameOf(func);
    this.counts = groups.get(config.group ?? this.name);
  }

  /** The task's group: its counters, its concurrency queue. */
  readonly counts: TaskGroup;

  /**
   * The async context where the task was scheduled, in which its next attempt starts, whatever
   * starts it (the response's close, a freed slot, a retry timer). Captured at scheduling for
   * deferred tasks, and whenever a task must wait (for a slot, for its retry).
   */
  scope?: AsyncResource;

  /** The pending timer: the current attempt's timeout, or the wait before the next attempt. */
  timer?: NodeJS.Timeout;

  /** The runner's list of live tasks (scheduled, not settled): the previous and next one. */
  previous?: ScheduledTask;
  next?: ScheduledTask;

  get group(): string {
    return this.counts.name;
  }

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  /** Whether the library has aborted the current attempt's signal (only the library can). */
  get aborted(): boolean {
    return this.controller?.signal.aborted === true;
  }

  abort(reason: string | Error): void {
    (this.controller ??= new AbortController()).abort(typeof reason === 'string' ? new Error(reason) : reason);
  }

  /** A fresh signal for the next attempt, if a timeout aborted the last one. */
  renewSignal(): void {
    if (this.aborted) this.controller = undefined;
  }
}

function nameOf(func: { name: string }): string {
  const name = func.name;
  if (name === '') return ANONYMOUS_TASK;
  return name.startsWith('bound ') ? name.slice(6) || ANONYMOUS_TASK : name;
}
