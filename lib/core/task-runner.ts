import { Inject, Injectable } from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import { Limiter } from '../control/limiter.js';
import { retryDelay, type RetryPolicy } from '../control/retry-policy.js';
import { TaskGroups, type CountKey, type TasksStats } from '../control/task-groups.js';
import { taskStorage } from './current-task.js';
import type { TaskObserver, TaskOutcome } from './task-observer.js';
import { ScheduledTask, type TaskState } from './scheduled-task.js';
import { HANDED_OFF, type TaskHandOff } from './task-hand-off.js';
import { TaskStarts } from './task-starts.js';
import { decoratedConfig, isUnboundMethod } from './task.js';
import { retryPolicyOf, type TaskConfig } from './task-config.js';
import { TASKS_OPTIONS, TASK_SCOPE } from './tasks.constants.js';
import { TasksLogger, type LogDetails } from './tasks.logger.js';
import { TaskTimeoutError, TasksError } from './tasks.errors.js';
import { describeError, errorName, messages, type TaskMode } from './tasks.messages.js';
import type { ResolvedTasksOptions } from '../module/tasks.options.js';

type Phase = 'running' | 'draining' | 'closed';

type Outcome = TaskOutcome;

/** A state a task can move to before it settles. */
type LiveState = 'pending' | 'queued' | 'running' | 'retrying';

/** The count a task in `state` is in: none while it is `new` (an immediate task before it starts). */
const countOf = (state: TaskState): CountKey | undefined => (state === 'new' ? undefined : (state as CountKey));

/** One attempt of a task with a timeout: whether its function still runs, whether it timed out. */
interface TimedAttempt {
  running: boolean;
  timedOut: boolean;
}

/** Node's timers overflow past this: a longer finite shutdownTimeout is clamped to it. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * The one code path where every task is created, started, dropped and settled: config merging,
 * async context, `currentTask()`, timeouts, retries, concurrency limits, statistics, error
 * handling, logging, abort signals, `onIdle()` and the shutdown drain all live here.
 */
@Injectable()
export class TaskRunner {
  private readonly logger: TasksLogger;
  /**
   * Tasks scheduled and not yet settled (pending, queued, running or retrying): a list linked
   * through the tasks themselves, newest first, and its length. Only shutdown walks it.
   */
  private newest?: ScheduledTask;
  private liveCount = 0;
  private shieldedLive = 0;
  private idleWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private deadline?: NodeJS.Timeout;
  private phase: Phase = 'running';
  private readonly shutdownTimeout: number;
  private readonly groups = new TaskGroups();
  /** Set in the constructor, once `execute` (a field below) exists. */
  private readonly starts: TaskStarts;
  private readonly limiter: Limiter;
  /** Registered observers; undefined while there are none, so that they cost nothing unused. */
  private observers?: TaskObserver[];
  /** When the drain began to wait, and for how many shielded tasks: for the line when it ends. */
  private drainStarted?: { at: number; count: number };
  /** Where durable tasks go (nestjs-tasks/bullmq); undefined while none is registered. */
  private handOff?: TaskHandOff;

  constructor(@Inject(TASKS_OPTIONS) private readonly options: ResolvedTasksOptions) {
    const timeout = options.shutdownTimeout;
    this.shutdownTimeout = timeout === Infinity ? timeout : Math.min(timeout, MAX_TIMER_DELAY);
    this.limiter = new Limiter(this.groups, options.maxConcurrency);
    this.logger = new TasksLogger(options.logFormat);
    this.starts = new TaskStarts(this.execute);
  }

  /** Validates `fn` and merges the config layers: the task, not yet scheduled. */
  create(
    fn: (...args: never[]) => unknown,
    args: readonly unknown[],
    callSite: TaskConfig | undefined,
    mode: TaskMode,
  ): ScheduledTask {
    if (typeof fn !== 'function') throw new TasksError(messages.notAFunction(fn));
    const func = fn as (...args: unknown[]) => unknown;
    const config = this.configFor(fn, callSite);
    if (config.durable === true) return this.createDurable(func, args, config, mode);
    return new ScheduledTask(this, func, args, config, mode, this.groups);
  }

  /** Registers where durable tasks are handed off (nestjs-tasks/bullmq); returns the function that removes it. */
  setHandOff(handOff: TaskHandOff): () => void {
    this.handOff = handOff;
    return () => {
      if (this.handOff === handOff) this.handOff = undefined;
    };
  }

  /**
   * Registers hooks into every task's life (for nestjs-tasks' integrations); returns the function
   * that removes them.
   */
  observe(observer: TaskObserver): () => void {
    this.observers = [...(this.observers ?? []), observer];
    return () => {
      const rest = this.observers?.filter((candidate) => candidate !== observer) ?? [];
      this.observers = rest.length === 0 ? undefined : rest;
    };
  }

  /**
   * Schedules a created task — a deferred one as pending; an immediate one is counted when
   * `start()` runs or queues it, in the same call — or throws: a shielded task once the last
   * drain has ended (nothing would await it), a task whose group's `queueLimit` is reached.
   */
  admit(task: ScheduledTask, deferred: boolean): void {
    if (this.phase === 'closed' && task.config.shield) throw new TasksError(messages.shieldedAfterShutdown(task.name));
    const full = this.limiter.refusal(task, deferred);
    if (full !== undefined) {
      this.log(
        'debug',
        () => full.message,
        () => ({ task, outcome: 'refused' }),
      );
      throw full;
    }
    if (deferred) {
      this.captureScope(task);
      this.moveTo(task, 'pending');
    }
    this.link(task);
    if (task.config.shield) this.shieldedLive++;
    if (this.observers !== undefined) this.notify((observer) => observer.scheduled?.(task));
  }

  /** Refuses a created task at the call: it was never scheduled. Logs the reason at debug level. */
  refuse(task: ScheduledTask, message: string): never {
    this.log(
      'debug',
      () => message,
      () => ({ task, outcome: 'refused' }),
    );
    throw new TasksError(message);
  }

  /**
   * Starts a pending (or retrying) task on a microtask, or queues it for a slot, unless shutdown
   * refuses it. `now`: the caller is a fresh turn of the event loop (a response's `close`, a
   * handler's completion), so the task may start at once ({@link TaskStarts}).
   */
  start(task: ScheduledTask, now = false): void {
    if (this.phase !== 'running' && !task.config.shield) {
      this.drop(task, messages.droppedShutdown(task.name));
      return;
    }
    if (this.observers !== undefined && task.attempt === 0 && this.intercepted(task)) {
      this.drop(task, messages.intercepted(task.name));
      return;
    }
    if (this.limiter.canStart(task)) {
      this.run(task, now);
      return;
    }
    if (task.scope === undefined) this.captureScope(task);
    this.limiter.enqueue(task);
    this.moveTo(task, 'queued');
  }

  /** Settles a task that will not run (again), saying why at debug level. */
  drop(task: ScheduledTask, reason: string): void {
    this.log(
      'debug',
      () => reason,
      () => ({ task, outcome: 'dropped' }),
    );
    this.finish(task, 'dropped', reason);
  }

  /** Resolves when no task is pending, queued, running or retrying; at once if none is. Never rejects. */
  onIdle(): Promise<void> {
    if (this.liveCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The counts of tasks by state and outcome, in total and per group: O(groups). */
  stats(): TasksStats {
    return this.groups.snapshot(this.phase !== 'running');
  }

  /**
   * Begins shutdown if it has not begun — running unshielded tasks are aborted, queued and
   * retrying ones dropped, new ones refused — and resolves when no shielded task is left, or at
   * `shutdownTimeout` (counted from the start of shutdown), when those still live are aborted or
   * dropped and named. Every caller, concurrent or not, waits for the same drain. Never rejects.
   */
  drained(): Promise<void> {
    if (this.phase === 'running') this.beginShutdown();
    if (this.shieldedLive === 0 || this.phase === 'closed') return Promise.resolve();
    if (this.drainWaiters.length === 0) {
      const waiting = this.shieldedLive;
      this.drainStarted = { at: performance.now(), count: waiting };
      this.log(
        'log',
        () => messages.shutdownWaiting(waiting, this.shutdownTimeout),
        () => ({ fields: { shielded: waiting, shutdownTimeout: this.shutdownTimeout } }),
      );
      this.deadline?.ref();
    }
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** The last drain, once the app has stopped taking requests: then no timer keeps the process alive. */
  async shutdown(): Promise<void> {
    await this.drained();
    clearTimeout(this.deadline);
    this.phase = 'closed';
    for (const task of this.liveTasks()) task.timer?.unref();
  }

  private beginShutdown(): void {
    this.phase = 'draining';
    for (const task of this.liveTasks()) {
      if (task.config.shield) continue;
      if (task.state === 'running') task.abort(messages.abortedShutdown(task.name));
      else if (task.state === 'queued') this.drop(task, messages.droppedShutdown(task.name));
      else if (task.state === 'retrying') this.drop(task, messages.droppedRetrying(task.name, task.attempt));
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
   * Captures the async context in which the task's next attempt will start: the one where this
   * is called. Call it only where the task was scheduled (or in a reaction or timer made there),
   * so request ids and CLS stores follow the task. An `AsyncResource`: cheaper than a promise
   * made here, and it lets a response's `close` start the task without a microtask.
   */
  private captureScope(task: ScheduledTask): void {
    task.scope = new AsyncResource(TASK_SCOPE);
  }

  private moveTo(task: ScheduledTask, state: LiveState): void {
    this.groups.move(task.counts, countOf(task.state), state);
    task.state = state;
  }

  private link(task: ScheduledTask): void {
    task.next = this.newest;
    if (this.newest !== undefined) this.newest.previous = task;
    this.newest = task;
    this.liveCount++;
  }

  private unlink(task: ScheduledTask): void {
    const { previous, next } = task;
    if (previous === undefined) this.newest = next;
    else previous.next = next;
    if (next !== undefined) next.previous = previous;
    task.previous = task.next = undefined;
    this.liveCount--;
  }

  /** The live tasks, oldest first; settling the task just returned does not disturb the walk. */
  private liveTasks(): ScheduledTask[] {
    const tasks: ScheduledTask[] = [];
    for (let task = this.newest; task !== undefined; task = task.next) tasks.push(task);
    return tasks.reverse();
  }

  /** Takes a slot and starts the next attempt, in the context where the task was scheduled. */
  private run(task: ScheduledTask, now = false): void {
    this.moveTo(task, 'running');
    if (++task.attempt > 1) task.renewSignal();
    const scope = task.scope;
    task.scope = undefined;
    this.starts.begin(task, scope, now);
  }

  /**
   * Runs one attempt of the task's function with `currentTask()` set. Written with plain promise
   * callbacks rather than an async function: a running task then holds one reaction instead of
   * a suspended frame.
   */
  private readonly execute = (task: ScheduledTask): void => {
    if (task.config.durable === true) {
      this.handOver(task);
      return;
    }
    // Here, in the scheduling context, whatever timer or slot later starts the next attempt.
    if (task.scope === undefined && this.mayRetry(task)) this.captureScope(task);
    const timeout = task.config.timeout;
    if (timeout !== undefined && timeout !== Infinity) {
      this.executeTimed(task, timeout);
      return;
    }
    let result: unknown;
    try {
      result = this.observers === undefined ? callInTask(task) : this.callObserved(task);
    } catch (error) {
      this.attemptFailed(task, error);
      return;
    }
    if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
      this.succeeded(task);
      return;
    }
    Promise.resolve(result).then(this.resolved, this.rejected);
  };

  /**
   * The reactions to an attempt's promise, shared by every task: they run in the context
   * `callInTask` entered, whose store is the task (two closures per task would cost more).
   */
  private readonly resolved = (): void => this.succeeded(taskStorage.getStore() as ScheduledTask);
  private readonly rejected = (error: unknown): void =>
    this.attemptFailed(taskStorage.getStore() as ScheduledTask, error);

  /** A durable task, checked by the hand-off before it is scheduled: shielded, no local slot. */
  private createDurable(
    func: (...args: unknown[]) => unknown,
    args: readonly unknown[],
    config: TaskConfig,
    mode: TaskMode,
  ): ScheduledTask {
    const task = new ScheduledTask(this, func, args, config.merge(HANDED_OFF), mode, this.groups);
    if (this.handOff === undefined) throw new TasksError(messages.durableWithoutModule(task.name));
    this.handOff.check(task);
    return task;
  }

  /**
   * A durable task's one attempt: the hand-off, instead of its function. It succeeds once the
   * queue has acknowledged the job; local `retry` and `timeout` do not apply (the worker's do).
   */
  private handOver(task: ScheduledTask): void {
    const handOff = this.handOff;
    new Promise<void>((resolve) => {
      if (handOff === undefined) throw new TasksError(messages.durableWithoutModule(task.name));
      resolve(handOff.send(task));
    }).then(
      () => this.succeeded(task),
      (error: unknown) => void this.fail(task, error).then(() => this.finish(task, 'failed', error)),
    );
  }

  /**
   * The attempt's function called through every observer's `around` hook. The task's context is
   * entered first, so that it is still current when the hooks return (one that runs the function
   * in a context of its own restores the context it was called in).
   */
  private callObserved(task: ScheduledTask): unknown {
    taskStorage.enterWith(task);
    let run = (): unknown => Reflect.apply(task.func, null, task.args);
    for (const observer of this.observers ?? []) {
      const around = observer.around;
      if (around === undefined) continue;
      const inner = run;
      run = () => around.call(observer, task, inner);
    }
    return run();
  }

  private succeeded(task: ScheduledTask): void {
    if (this.observers !== undefined) this.notify((observer) => observer.attemptEnded?.(task, undefined, false));
    this.finish(task, 'succeeded');
  }

  /** One attempt raced against the task's timeout: whichever ends first ends the attempt. */
  private executeTimed(task: ScheduledTask, timeout: number): void {
    const attempt: TimedAttempt = { running: true, timedOut: false };
    task.timer = setTimeout(() => this.timedOut(task, timeout, attempt), timeout);
    let result: unknown;
    try {
      result = this.observers === undefined ? callInTask(task) : this.callObserved(task);
    } catch (error) {
      if (this.attemptEnded(task, attempt)) this.attemptFailed(task, error);
      return;
    }
    Promise.resolve(result).then(
      () => {
        if (this.attemptEnded(task, attempt)) this.succeeded(task);
      },
      (error: unknown) => {
        if (this.attemptEnded(task, attempt)) this.attemptFailed(task, error);
      },
    );
  }

  /** The function of a timed attempt is done: false if the attempt had already timed out. */
  private attemptEnded(task: ScheduledTask, attempt: TimedAttempt): boolean {
    attempt.running = false;
    if (attempt.timedOut) return false;
    clearTimeout(task.timer);
    task.timer = undefined;
    return true;
  }

  private timedOut(task: ScheduledTask, timeout: number, attempt: TimedAttempt): void {
    task.timer = undefined;
    attempt.timedOut = true;
    const error = new TaskTimeoutError(task.name, timeout, task.attempt);
    task.abort(error);
    this.attemptFailed(task, error, true);
    // Once the abort has had its turn: a function still running ignores its signal.
    setImmediate(() => {
      if (attempt.running) {
        this.log(
          'warn',
          () => messages.stillRunningAfterTimeout(task.name, timeout),
          () => ({ task, outcome: 'timedOut' }),
        );
      }
    }).unref();
  }

  /** An attempt failed: stop (the library's abort), retry, or hand the error over and settle. */
  private attemptFailed(task: ScheduledTask, error: unknown, timedOut = false): void {
    if (this.observers !== undefined) this.notify((observer) => observer.attemptEnded?.(task, error, timedOut));
    if (!timedOut && task.aborted && isAbortOf(task, error)) {
      this.log(
        'warn',
        () => messages.stoppedByAbort(task.name, describeError(task.signal.reason)),
        () => ({ task, outcome: 'aborted' }),
      );
      this.finish(task, 'aborted', task.signal.reason);
      return;
    }
    const policy = this.retryPolicyFor(task, error);
    if (policy !== undefined) {
      this.retryLater(task, policy, error);
      return;
    }
    void this.fail(task, error).then(() => this.finish(task, timedOut ? 'timedOut' : 'failed', error));
  }

  private mayRetry(task: ScheduledTask): boolean {
    const policy = retryPolicyOf(task.config);
    return policy !== undefined && task.attempt < policy.attempts;
  }

  /**
   * The retry policy if the failed attempt is followed by another (attempts left, shutdown not
   * stopping it, `retryIf` agreeing), else undefined.
   */
  private retryPolicyFor(task: ScheduledTask, error: unknown): RetryPolicy | undefined {
    const policy = retryPolicyOf(task.config);
    if (policy === undefined || task.attempt >= policy.attempts) return undefined;
    if (this.phase === 'closed' || (this.phase === 'draining' && !task.config.shield)) return undefined;
    if (policy.retryIf === undefined) return policy;
    try {
      return policy.retryIf(error, task) ? policy : undefined;
    } catch (retryIfError) {
      this.log(
        'error',
        () => messages.retryIfFailed(task.name, retryIfError),
        () => ({ task, error: retryIfError }),
      );
      return undefined;
    }
  }

  /**
   * Frees the task's slot and starts its next attempt after the backoff delay, through the
   * scope `execute` captured in the scheduling context (whatever context a timer keeps).
   */
  private retryLater(task: ScheduledTask, policy: RetryPolicy, error: unknown): void {
    const delay = retryDelay(policy, task.attempt);
    this.log(
      'warn',
      () => messages.retrying(task.name, task.attempt, policy.attempts, delay, error),
      () => ({ task, outcome: 'retrying', error, fields: { delay } }),
    );
    this.moveTo(task, 'retrying');
    this.slotFreed(task);
    task.timer = setTimeout(() => {
      task.timer = undefined;
      this.start(task);
    }, delay);
  }

  /** Hands a final failure to `onError`, else logs it. Never rejects. */
  private async fail(task: ScheduledTask, error: unknown): Promise<void> {
    const onError = task.config.onError;
    if (onError === undefined) {
      this.log(
        'error',
        () => messages.taskFailed(task.name, error, isUnboundMethod(task.func) && errorName(error) === 'TypeError'),
        () => ({ task, outcome: isTimeout(error) ? 'timedOut' : 'failed', error }),
      );
      return;
    }
    try {
      await onError(task, error);
    } catch (handlerError) {
      this.log(
        'error',
        () => messages.onErrorFailed(task.name, error, handlerError),
        () => ({ task, outcome: 'failed', error: handlerError }),
      );
    }
  }

  private log(level: 'debug' | 'log' | 'warn' | 'error', message: () => string, details?: () => LogDetails): void {
    this.logger.write(level, message, details);
  }

  /** Where every task settles, once: counts its outcome, frees its slot, wakes the waiters. */
  private finish(task: ScheduledTask, outcome: Outcome, detail?: unknown): void {
    const state = task.state;
    if (state === 'settled') return;
    if (task.timer !== undefined) {
      clearTimeout(task.timer);
      task.timer = undefined;
    }
    this.groups.settle(task.counts, countOf(state), outcome);
    task.state = 'settled';
    this.unlink(task);
    if (task.config.shield && --this.shieldedLive === 0) this.resolveDrainWaiters();
    if (this.observers !== undefined) this.notify((observer) => observer.settled?.(task, outcome, detail));
    if (state === 'running') this.slotFreed(task);
    if (this.liveCount === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Calls a hook of every observer; a hook that throws is logged, never passed on. */
  private notify(hook: (observer: TaskObserver) => void): void {
    for (const observer of this.observers ?? []) {
      try {
        hook(observer);
      } catch (error) {
        this.log(
          'error',
          () => messages.observerFailed(error),
          () => ({ error }),
        );
      }
    }
  }

  /** Whether an observer holds the task instead of letting it run (the testing kit's capture mode). */
  private intercepted(task: ScheduledTask): boolean {
    let held = false;
    this.notify((observer) => {
      if (observer.intercept?.(task) === true) held = true;
    });
    return held;
  }

  /** Starts the queued tasks that the slot `task` left may now run. */
  private slotFreed(task: ScheduledTask): void {
    // Most tasks never wait for a slot: skip the limiter's search when none is queued.
    if (this.groups.total.queued === 0) return;
    for (let next = this.limiter.next(task.counts); next !== undefined; next = this.limiter.next(task.counts)) {
      this.run(next);
    }
  }

  private resolveDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    this.deadline?.unref();
    const started = this.drainStarted;
    if (started !== undefined && this.phase !== 'closed') {
      const ms = Math.round(performance.now() - started.at);
      this.log(
        'log',
        () => messages.drained(started.count, ms),
        () => ({ fields: { shielded: started.count, ms } }),
      );
    }
    for (const resolve of waiters) resolve();
  }

  /** The deadline: every shielded task still live is aborted (running) or dropped (waiting). */
  private abandonShielded(): void {
    this.phase = 'closed';
    const names: string[] = [];
    for (const task of this.liveTasks()) {
      if (!task.config.shield) continue;
      names.push(task.name);
      const reason = messages.shutdownDeadline(this.shutdownTimeout, [task.name]);
      if (task.state === 'running') task.abort(reason);
      else this.finish(task, 'dropped', reason);
    }
    if (names.length > 0) {
      this.log(
        'warn',
        () => messages.shutdownDeadline(this.shutdownTimeout, names),
        () => ({ fields: { tasks: names, shutdownTimeout: this.shutdownTimeout } }),
      );
    }
    this.resolveDrainWaiters();
  }
}

/**
 * Calls the task's function with `currentTask()` set to it. Only for `execute`, which always runs
 * as a promise job of its own (a task that waited for its microtask) or inside its task's
 * `AsyncResource` (a task started at once, see TaskStarts): the task's store stays entered until
 * that job or scope ends, which restores the context before it (no context is restored here:
 * Node's `AsyncLocalStorage.run()` makes a second context frame to restore one on Node 24), so
 * what `execute` does after the call — settling the task, `onError` — sees it too.
 */
function callInTask(task: ScheduledTask): unknown {
  taskStorage.enterWith(task);
  return Reflect.apply(task.func, null, task.args);
}

/**
 * Whether a task's rejection is the abort the library asked for: the signal's own reason (what
 * `fetch` and `signal.throwIfAborted()` reject with) or an `AbortError` (Node's timers, streams).
 */
function isAbortOf(task: ScheduledTask, error: unknown): boolean {
  if (error === task.signal.reason) return true;
  return errorName(error) === 'AbortError';
}

/** Whether a thrown value is a TaskTimeoutError; false, never a throw, for a hostile Proxy. */
function isTimeout(error: unknown): boolean {
  try {
    return error instanceof TaskTimeoutError;
  } catch {
    return false;
  }
}
