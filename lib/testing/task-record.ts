import type { RawRequest } from '../contexts/request-tasks.js';
import type { ScheduledTask } from '../core/scheduled-task.js';
import type { Task } from '../core/task.js';
import type { TaskConfig } from '../core/task-config.js';
import type { TaskOutcome } from '../core/task-observer.js';
import type { TaskMode } from '../core/tasks.messages.js';

/**
 * Where a recorded task is: a live state (`pending` for a deferred task waiting for its request,
 * `queued` for a concurrency slot, `running`, `retrying`), how it ended, or `captured` (held by
 * the capture mode, not run).
 */
export type TaskRecordState = 'pending' | 'queued' | 'running' | 'retrying' | TaskOutcome | 'captured';

/** The HTTP request a task was scheduled in. */
export interface TaskRequest {
  readonly method: string;
  readonly url: string;
}

/**
 * One scheduled task as the probe saw it. Its state follows the task; a captured task that the
 * test runs keeps its record, whose state then follows the run.
 */
export class TaskRecord {
  private current: ScheduledTask;
  private ending?: TaskOutcome | 'captured';
  private lastError?: unknown;

  /** @internal */
  constructor(
    task: ScheduledTask,
    /** The HTTP request it was scheduled in (method and URL as the client sent them), if any. */
    readonly request: TaskRequest | undefined,
    /** Calls a function in the async context where the task was scheduled. @internal */
    readonly resume: <T>(fn: () => T) => T,
  ) {
    this.current = task;
    this.mode = task.mode;
  }

  /** When it was scheduled to start. A captured task the test runs keeps its original mode here. */
  readonly mode: TaskMode;

  get name(): string {
    return this.current.name;
  }

  /** The merged config: global < `@Task()` < call site. */
  get config(): TaskConfig {
    return this.current.config;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  get func(): (...args: any[]) => unknown {
    return this.current.func;
  }

  get args(): readonly unknown[] {
    return this.current.args;
  }

  /** The task itself (the one the test started, once a captured task has been run). */
  get task(): Task {
    return this.current;
  }

  get state(): TaskRecordState {
    if (this.ending !== undefined) return this.ending;
    const state = this.current.state;
    if (state === 'settled') return 'dropped';
    // An immediate task is `new` only inside the schedule() call that starts it.
    return state === 'new' ? 'pending' : state;
  }

  /** The last error of a task that failed or timed out; undefined otherwise. */
  get error(): unknown {
    return this.lastError;
  }

  /** @internal */
  isFor(task: Task): boolean {
    return this.current === task;
  }

  /** @internal */
  captured(): void {
    this.ending = 'captured';
  }

  /** @internal */
  settled(outcome: TaskOutcome, detail: unknown): void {
    if (this.ending === 'captured') return;
    this.ending = outcome;
    if (outcome === 'failed' || outcome === 'timedOut') this.lastError = detail;
  }

  /** The captured task now runs as `task`. @internal */
  runAs(task: ScheduledTask): void {
    this.current = task;
    this.ending = undefined;
  }
}

/** Method and URL of the raw request (Express's `originalUrl`, kept before its routers rewrite `url`). */
export function describeRequest(request: RawRequest | undefined): TaskRequest | undefined {
  if (request === undefined) return undefined;
  const url = (request as { originalUrl?: string }).originalUrl ?? request.url;
  return { method: request.method ?? '', url: url ?? '' };
}
