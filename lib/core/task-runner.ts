import { Inject, Injectable, Logger } from '@nestjs/common';
import { taskStorage } from './current-task.js';
import { ScheduledTask } from './scheduled-task.js';
import { decoratedConfig, isUnboundMethod } from './task.js';
import type { TaskConfig } from './task-config.js';
import { LOGGER_CONTEXT, TASKS_OPTIONS } from './tasks.constants.js';
import { TasksError } from './tasks.errors.js';
import { describeError, errorName, messages, stackOf } from './tasks.messages.js';
import type { ResolvedTasksOptions } from '../module/tasks.options.js';

type Phase = 'running' | 'draining' | 'closed';

/** Node's timers overflow past this: a longer finite shutdownTimeout is clamped to it. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * The one code path where every task is created, started, dropped and settled: config merging,
 * async context, `currentTask()`, error handling, logging, abort signals, `onIdle()` and the
 * shutdown drain all live here, so timeouts, limits and tracing can plug in at one place.
 */
@Injectable()
export class TaskRunner {
  private readonly logger = new Logger(LOGGER_CONTEXT);
  /** Tasks created and not yet settled: pending (waiting for their request) or running. */
  private readonly live = new Set<ScheduledTask>();
  private shieldedLive = 0;
  private idleWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private deadline?: NodeJS.Timeout;
  private phase: Phase = 'running';
  private readonly shutdownTimeout: number;

  constructor(@Inject(TASKS_OPTIONS) private readonly options: ResolvedTasksOptions) {
    const timeout = options.shutdownTimeout;
    this.shutdownTimeout = timeout === Infinity ? timeout : Math.min(timeout, MAX_TIMER_DELAY);
  }

  /** Validates `fn`, merges the config layers and registers the task as pending. */
  create(
    fn: (...args: never[]) => unknown,
    args: readonly unknown[],
    callSite: TaskConfig | undefined,
    deferred: boolean,
  ): ScheduledTask {
    if (typeof fn !== 'function') throw new TasksError(messages.notAFunction(fn));
    const config = this.configFor(fn, callSite);
    const task = new ScheduledTask(this, fn as (...args: unknown[]) => unknown, args, config);
    // Nothing is left to await a shielded task once the last drain ended: refuse it at the call.
    if (this.phase === 'closed' && config.shield) throw new TasksError(messages.shieldedAfterShutdown(task.name));
    // A promise reaction runs in the async context where `then` was called: made here, it
    // starts the deferred task in the scheduling context (request ids, CLS) whenever released.
    if (deferred) void new Promise<ScheduledTask>((resolve) => (task.release = resolve)).then(this.execute);
    this.live.add(task);
    if (task.config.shield) this.shieldedLive++;
    return task;
  }

  /** Starts a pending task on a microtask, unless shutdown refuses it. */
  start(task: ScheduledTask): void {
    if (this.phase !== 'running' && !task.config.shield) {
      this.drop(task, messages.droppedShutdown(task.name));
      return;
    }
    task.state = 'running';
    if (task.release === undefined) void Promise.resolve(task).then(this.execute);
    else task.release(task);
  }

  /** Settles a pending task without running it, saying why at debug level. */
  drop(task: ScheduledTask, reason: string): void {
    this.log('debug', () => reason);
    this.settle(task);
  }

  /** Resolves when no task is pending or running; at once if none is. Never rejects. */
  onIdle(): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Begins shutdown if it has not begun — running unshielded tasks are aborted, new unshielded
   * tasks are refused — and resolves when no shielded task is left, or at `shutdownTimeout`
   * (counted from the start of shutdown), when those still pending are aborted and named.
   * Every caller, concurrent or not, waits for the same drain. Never rejects.
   */
  drained(): Promise<void> {
    if (this.phase === 'running') this.beginShutdown();
    if (this.shieldedLive === 0 || this.phase === 'closed') return Promise.resolve();
    if (this.drainWaiters.length === 0) {
      this.log('log', () => messages.shutdownWaiting(this.shieldedLive, this.shutdownTimeout));
      this.deadline?.ref();
    }
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** The last drain, once the app has stopped taking requests: then no deadline is left behind. */
  async shutdown(): Promise<void> {
    await this.drained();
    clearTimeout(this.deadline);
    this.phase = 'closed';
  }

  private beginShutdown(): void {
    this.phase = 'draining';
    for (const task of this.live) {
      if (!task.config.shield && task.state === 'running') task.abort(messages.abortedShutdown(task.name));
    }
    if (this.shutdownTimeout === Infinity) return;
    // Unreferenced while nobody waits: a deadline alone must not keep the process alive.
    this.deadline = setTimeout(() => this.abandonShielded(), this.shutdownTimeout).unref();
  }
  private configFor(fn: object, callSite?: TaskConfig): TaskConfig {
    const method = decoratedConfig(fn);
    let config = this.options.config;
    if (method !== undefined) config = config.merge(method);
    if (callSite !== undefined) config = config.merge(callSite);
    return config;
  }

  /**
   * Runs the task's function with `currentTask()` set, and settles it when the function (and,
   * on failure, its `onError`) is done. Written with plain promise callbacks rather than an async
   * function: a pending task then holds one reaction instead of a suspended frame.
   */
  private readonly execute = (task: ScheduledTask): void => {
    let result: unknown;
    try {
      result = taskStorage.run(task, task.func, ...task.args);
    } catch (error) {
      this.failThenSettle(task, error);
      return;
    }
    if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
      this.settle(task);
      return;
    }
    Promise.resolve(result).then(
      () => this.settle(task),
      (error: unknown) => this.failThenSettle(task, error),
    );
  };

  private failThenSettle(task: ScheduledTask, error: unknown): void {
    void this.fail(task, error).then(() => this.settle(task));
  }

  /** Never rejects: whatever the task threw, and whatever its handler does, the task settles. */
  private async fail(task: ScheduledTask, error: unknown): Promise<void> {
    if (task.aborted && isAbortOf(task, error)) {
      this.log('warn', () => messages.stoppedByAbort(task.name, describeError(task.signal.reason)));
      return;
    }
    const onError = task.config.onError;
    if (onError === undefined) {
      this.log(
        'error',
        () => messages.taskFailed(task.name, error, isUnboundMethod(task.func) && errorName(error) === 'TypeError'),
        () => stackOf(error),
      );
      return;
    }
    try {
      await onError(task, error);
    } catch (handlerError) {
      this.log(
        'error',
        () => messages.onErrorFailed(task.name, error, handlerError),
        () => stackOf(handlerError),
      );
    }
  }

  /**
   * A log call must never throw: neither a broken logger nor a thrown value that cannot be
   * printed may keep a task from settling. Message and stack are built inside the guard.
   */
  private log(
    level: 'debug' | 'log' | 'warn' | 'error',
    message: () => string,
    stack?: () => string | undefined,
  ): void {
    try {
      const trace = stack?.();
      if (trace === undefined) this.logger[level](message());
      else this.logger[level](message(), trace);
    } catch {
      // Nothing left to report to.
    }
  }

  private settle(task: ScheduledTask): void {
    if (task.state === 'settled') return;
    task.state = 'settled';
    this.live.delete(task);
    if (task.config.shield && --this.shieldedLive === 0) this.resolveDrainWaiters();
    if (this.live.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private resolveDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    this.deadline?.unref();
    for (const resolve of waiters) resolve();
  }

  /** The deadline: every shielded task still live is aborted (running) or settled (pending). */
  private abandonShielded(): void {
    this.phase = 'closed';
    const names: string[] = [];
    for (const task of this.live) {
      if (!task.config.shield) continue;
      names.push(task.name);
      const reason = messages.shutdownDeadline(this.shutdownTimeout, [task.name]);
      if (task.state === 'running') task.abort(reason);
      else this.settle(task);
    }
    if (names.length > 0) this.log('warn', () => messages.shutdownDeadline(this.shutdownTimeout, names));
    this.resolveDrainWaiters();
  }
}

/**
 * Whether a task's rejection is the abort the library asked for: the signal's own reason (what
 * `fetch` and `signal.throwIfAborted()` reject with) or an `AbortError` (Node's timers, streams).
 */
function isAbortOf(task: ScheduledTask, error: unknown): boolean {
  if (error === task.signal.reason) return true;
  return errorName(error) === 'AbortError';
}
