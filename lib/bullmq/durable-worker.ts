import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { retryDelay, type RetryPolicy } from '../control/retry-policy.js';
import { retryPolicyOf } from '../core/task-config.js';
import { taskStorage } from '../core/current-task.js';
import { TASKS_OPTIONS } from '../core/tasks.constants.js';
import { TaskTimeoutError } from '../core/tasks.errors.js';
import { describeError, messages, stackOf } from '../core/tasks.messages.js';
import type { ResolvedTasksOptions } from '../module/tasks.options.js';
import { connectionErrors, workerConnection } from './connection.js';
import { DURABLE_BACKOFF, DURABLE_LOGGER_CONTEXT, DURABLE_OPTIONS } from './durable.constants.js';
import { durableMessages } from './durable.messages.js';
import type { ResolvedDurableOptions } from './durable.options.js';
import { DurableJobTask, type DurableJobData } from './durable-job.js';
import { DurableRegistry, type TaskMethod } from './durable-registry.js';
import { decodeArgs } from './json-args.js';
import { Slots } from './slots.js';

/**
 * The worker side: a BullMQ `Worker` that runs each job's `@Task()` method, found by the job's
 * name, with its instance, arguments and config — `timeout` per attempt on the task's signal,
 * `onError` once after the last attempt. At shutdown it stops taking jobs and waits for the
 * running ones up to `shutdownTimeout`.
 */
@Injectable()
export class DurableWorker implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger(DURABLE_LOGGER_CONTEXT);
  private worker?: Worker<DurableJobData>;
  private stopping?: Promise<void>;
  private stoppingAt = 0;
  /** Set as the worker closes: its connections stop reconnecting then. */
  private closing = false;
  private readonly running = new Map<string, { name: string; controller: AbortController }>();
  private readonly slots = new Slots();

  constructor(
    @Inject(DURABLE_OPTIONS) private readonly options: ResolvedDurableOptions,
    @Inject(TASKS_OPTIONS) private readonly tasksOptions: ResolvedTasksOptions,
    private readonly registry: DurableRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const settings = this.options.worker;
    if (settings === false) return;
    const { concurrency, lockDuration, stalledInterval, maxStalledCount } = settings;
    this.worker = new Worker<DurableJobData>(
      this.options.queue,
      // One parameter: BullMQ then makes no abort signal per job. Its signal only serves
      // `worker.cancelJob()`, which nobody can call on this private worker; the task's own signal
      // is aborted by its timeout and the shutdown deadline.
      (job) => this.process(job),
      {
        connection: workerConnection(this.options.connection, () => this.closing),
        concurrency,
        ...(lockDuration !== undefined && { lockDuration }),
        ...(stalledInterval !== undefined && { stalledInterval }),
        ...(maxStalledCount !== undefined && { maxStalledCount }),
        settings: { backoffStrategy: (attemptsMade, type, _error, job) => backoff(attemptsMade, type, job) },
      },
    );
    connectionErrors(this.worker, (error) =>
      this.logger.warn(durableMessages.connectionError('worker', this.options.queue, error)),
    );
    this.worker.on('failed', (job, error) => {
      if (job?.deferredFailure !== undefined) void this.failedUnrun(job, error);
    });
  }

  /**
   * A job BullMQ failed without calling the processor: stalled-job recovery found it abandoned
   * more than `maxStalledCount` times (its workers died under it) and marked it failed for good.
   * Nothing of nestjs-tasks ran for it, so it is reported here: `onError`, else the error log.
   */
  private async failedUnrun(job: Job<DurableJobData>, error: Error): Promise<void> {
    const reason = new Error(durableMessages.failedUnrun(job.name, job.id ?? '?', error.message));
    const [method, ...others] = this.registry.get(job.name);
    if (method === undefined || others.length > 0) {
      this.logger.error(reason.message);
      return;
    }
    let args: unknown[] = [];
    try {
      args = decodeArgs(job.data.args);
    } catch {
      // Reported with no arguments: the failure matters more than what it was called with.
    }
    const func = method.instance[method.key] as (...args: unknown[]) => unknown;
    const task = new DurableJobTask(
      method.name,
      job.id ?? '?',
      method.config,
      func,
      args,
      job.data.mode,
      job.attemptsMade + 1,
      AbortSignal.abort(reason),
    );
    await this.fail(task, reason);
  }

  /**
   * Stops taking jobs at once; the running ones are awaited in onApplicationShutdown. With
   * `pause()`, not `close()`: once BullMQ's `close()` has begun waiting for the active jobs, a
   * later `close(true)` returns that same wait, so the deadline could not cut it short.
   */
  onModuleDestroy(): void {
    const worker = this.worker;
    if (worker === undefined || this.stopping !== undefined) return;
    this.stoppingAt = Date.now();
    // Settles once the active jobs have settled in Redis (completed, failed or retried).
    this.stopping = worker.pause().catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    this.onModuleDestroy();
    const worker = this.worker;
    if (worker === undefined || this.stopping === undefined) return;
    if (await this.stoppedInTime(this.stopping)) {
      this.closing = true;
      await worker.close().catch(() => undefined);
      return;
    }
    const timeout = this.tasksOptions.shutdownTimeout;
    const names = [...this.running.values()].map((job) => job.name);
    this.logger.warn(
      names.length === 0
        ? durableMessages.workerNotStopped(timeout, this.options.queue)
        : durableMessages.workerDeadline(timeout, names),
    );
    // Closed by force first: BullMQ then drops the results, stops renewing the jobs' locks, and
    // stalled recovery hands the jobs to another worker.
    this.closing = true;
    await worker.close(true).catch(() => undefined);
    for (const job of this.running.values())
      job.controller.abort(new Error(durableMessages.workerDeadline(timeout, [job.name])));
  }

  /** Whether `stopping` settled within `shutdownTimeout` of onModuleDestroy. */
  private async stoppedInTime(stopping: Promise<void>): Promise<boolean> {
    const timeout = this.tasksOptions.shutdownTimeout;
    if (timeout === Infinity) return stopping.then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, this.stoppingAt + timeout - Date.now()));
    });
    const stopped = await Promise.race([stopping.then(() => true as const), deadline]);
    clearTimeout(timer);
    return stopped;
  }

  /** One attempt of one job. */
  private async process(job: Job<DurableJobData>): Promise<unknown> {
    const method = this.methodOf(job);
    const jobId = job.id as string;
    const attempts = job.opts.attempts ?? 1;
    const attempt = job.attemptsMade + 1;
    const config = method.config;
    const controller = new AbortController();
    const func = (...args: unknown[]) =>
      Reflect.apply(method.instance[method.key] as (...args: unknown[]) => unknown, method.instance, args);
    const task = new DurableJobTask(
      method.name,
      jobId,
      config,
      func,
      decodeArgs(job.data.args),
      job.data.mode,
      attempt,
      controller.signal,
    );
    this.running.set(jobId, { name: task.name, controller });
    try {
      const timeout = job.data.timeout ?? config.timeout;
      // Without a `concurrency`, the worker's own bounds the job: no slot to wait for.
      if (config.concurrency === undefined) return await this.attempt(task, timeout, controller);
      await this.slots.take(task.group, config.concurrency);
      try {
        return await this.attempt(task, timeout, controller);
      } finally {
        this.slots.free(task.group);
      }
    } catch (error) {
      const policy = retryPolicyOf(config);
      const retryIf = policy?.retryIf;
      const retryable = retryIf === undefined || safeRetryIf(retryIf, error, task);
      if (attempt < attempts && retryable) {
        this.logger.warn(durableMessages.jobRetrying(task.name, jobId, attempt, attempts, error));
        throw error;
      }
      await this.fail(task, error);
      throw attempt < attempts ? new UnrecoverableError(describeError(error)) : error;
    } finally {
      this.running.delete(jobId);
    }
  }

  private methodOf(job: Job<DurableJobData>): TaskMethod {
    const [method, ...others] = this.registry.get(job.name);
    if (method === undefined || others.length > 0) {
      const message = durableMessages.unknownJob(job.name, this.options.queue, this.registry.names());
      this.logger.error(message);
      throw new UnrecoverableError(message);
    }
    return method;
  }

  /** The method, raced against the task's timeout, which aborts its signal. */
  private attempt(task: DurableJobTask, timeout: number | undefined, controller: AbortController): Promise<unknown> {
    const run = new Promise<unknown>((resolve) => resolve(taskStorage.run(task, task.func, ...task.args)));
    if (timeout === undefined || timeout === Infinity) return run;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const error = new TaskTimeoutError(task.name, timeout, task.attempt);
        controller.abort(error);
        reject(error);
      }, timeout);
    });
    return Promise.race([run, timedOut]).finally(() => clearTimeout(timer));
  }

  /** The last attempt failed: `onError`, else the error log. Never rejects. */
  private async fail(task: DurableJobTask, error: unknown): Promise<void> {
    const onError = task.config.onError;
    try {
      if (onError === undefined) this.logger.error(messages.taskFailed(task.name, error), stackOf(error));
      else await onError(task, error);
    } catch (handlerError) {
      this.logger.error(messages.onErrorFailed(task.name, error, handlerError), stackOf(handlerError));
    }
  }
}

/** BullMQ's wait before the next attempt of a durable job: the task's `retry` backoff. */
function backoff(attemptsMade: number, type: string | undefined, job: { data?: unknown } | undefined): number {
  const retry = (job?.data as DurableJobData | undefined)?.retry;
  if (type !== DURABLE_BACKOFF || retry === undefined) return 0;
  return retryDelay({ ...retry, attempts: Infinity }, attemptsMade);
}

function safeRetryIf(retryIf: NonNullable<RetryPolicy['retryIf']>, error: unknown, task: DurableJobTask): boolean {
  try {
    return retryIf(error, task);
  } catch {
    return false;
  }
}
