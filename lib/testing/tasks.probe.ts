import { Inject, Injectable, Optional } from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import { RequestTasks, requestStorage } from '../contexts/request-tasks.js';
import type { ScheduledTask } from '../core/scheduled-task.js';
import { decoratedConfig, type Task } from '../core/task.js';
import type { TaskObserver, TaskOutcome } from '../core/task-observer.js';
import { TaskRunner } from '../core/task-runner.js';
import { TasksError } from '../core/tasks.errors.js';
import { TasksService } from '../module/tasks.service.js';
import { TaskFailuresError } from './task-failures.error.js';
import { TaskRecord, describeRequest } from './task-record.js';
import { PROBE_OPTIONS, type TasksProbeOptions, type TasksTestingMode } from './tasks-testing.options.js';
import { testingMessages } from './testing.messages.js';

const LIVE = new Set(['pending', 'queued', 'running', 'retrying']);

/**
 * Sees every task the app schedules, for your tests: what was scheduled (name, mode, arguments,
 * config, state, request), captured tasks to run on demand, and `drain()`, which waits for the
 * background work and fails when any of it failed. Provided by `TasksTestingModule`.
 *
 * @example
 * ```ts
 * await request(app.getHttpServer()).post('/orders').expect(201);
 * await app.get(TasksProbe).drain(); // rejects if a task failed, even one a global onError reported
 * ```
 */
@Injectable()
export class TasksProbe {
  /** Whether tasks run (`'run'`) or are held (`'capture'`) when they start; may change between tests. */
  mode: TasksTestingMode;
  private records: TaskRecord[] = [];
  private readonly recordOf = new WeakMap<Task, TaskRecord>();
  private unreported: TaskRecord[] = [];
  private readonly released = new WeakSet<Task>();
  /** The captured record being started by run(): the next task scheduled is its run. */
  private starting?: TaskRecord;
  private readonly runner: TaskRunner;
  private readonly tasks: TasksService;

  // Optional only so that a missing TasksModule fails with a TasksError naming the fix.
  constructor(
    @Inject(PROBE_OPTIONS) options: TasksProbeOptions,
    @Optional() tasks?: TasksService,
    @Optional() runner?: TaskRunner,
  ) {
    if (tasks === undefined || runner === undefined) throw new TasksError(testingMessages.noTasksModule());
    this.tasks = tasks;
    this.runner = runner;
    this.mode = options.mode ?? 'run';
    runner.observe(this.observer);
  }

  /** Every task scheduled since the last `clear()` (and those still live), in scheduling order. */
  get scheduled(): readonly TaskRecord[] {
    return this.records;
  }

  /**
   * The first task recorded with this name, or of this function. A method scheduled with `call()`
   * runs bound, so a function is also matched by the name its task gets: its `@Task()` name, else
   * its own.
   */
  find(nameOrFn: string | ((...args: never[]) => unknown)): TaskRecord | undefined {
    if (typeof nameOrFn === 'string') return this.records.find((record) => record.name === nameOrFn);
    const name = decoratedConfig(nameOrFn)?.name ?? nameOrFn.name;
    return (
      this.records.find((record) => record.func === nameOrFn) ?? this.records.find((record) => record.name === name)
    );
  }

  /**
   * Resolves when no task is pending, queued, running or retrying (as `tasks.onIdle()`), then
   * rejects with a {@link TaskFailuresError} naming each task that failed or timed out since the
   * last `drain()` or `clear()` — whether its error was logged or handed to an `onError`.
   */
  async drain(): Promise<void> {
    await this.runner.onIdle();
    const failed = this.unreported;
    this.unreported = [];
    if (failed.length > 0) throw new TaskFailuresError(failed);
  }

  /**
   * Runs captured tasks for real — with their config, `onError`, retries and limits, in the async
   * context where they were scheduled — then `drain()`s. Tasks they schedule are captured in turn.
   *
   * @throws {TasksError} (as a rejection) for a record that is not `captured`
   */
  async run(...records: TaskRecord[]): Promise<void> {
    for (const record of records) this.start(record);
    await this.drain();
  }

  /** Runs every task captured so far (see {@link TasksProbe.run}), then `drain()`s. */
  runAll(): Promise<void> {
    return this.run(...this.records.filter((record) => record.state === 'captured'));
  }

  /** Forgets the tasks that have settled or were captured, and the failures `drain()` has not reported. */
  clear(): void {
    this.records = this.records.filter((record) => LIVE.has(record.state));
    this.unreported = [];
  }

  private start(record: TaskRecord): void {
    if (record.state !== 'captured') throw new TasksError(testingMessages.notCaptured(record.name, record.state));
    this.starting = record;
    try {
      record.resume(() => this.tasks.task(record.config).schedule(record.func, ...record.args));
    } finally {
      this.starting = undefined;
    }
  }

  private readonly observer: TaskObserver = {
    scheduled: (task) => {
      const starting = this.starting;
      if (starting !== undefined) {
        this.starting = undefined;
        starting.runAs(task as ScheduledTask);
        this.released.add(task);
        this.recordOf.set(task, starting);
        return;
      }
      const store = requestStorage.getStore();
      const request = store instanceof RequestTasks ? describeRequest(store.request()) : undefined;
      const record = new TaskRecord(task as ScheduledTask, request, AsyncResource.bind(callIn));
      this.records.push(record);
      this.recordOf.set(task, record);
    },
    intercept: (task) => {
      if (this.mode !== 'capture' || this.released.has(task)) return false;
      this.recordOf.get(task)?.captured();
      return true;
    },
    settled: (task: Task, outcome: TaskOutcome, detail: unknown) => {
      const record = this.recordOf.get(task);
      if (record === undefined || !record.isFor(task)) return;
      const wasCaptured = record.state === 'captured';
      record.settled(outcome, detail);
      if (!wasCaptured && (outcome === 'failed' || outcome === 'timedOut')) this.unreported.push(record);
    },
  };
}

function callIn<T>(fn: () => T): T {
  return fn();
}
