import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Queue, type JobsOptions } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Task } from '../core/task.js';
import { retryPolicyOf } from '../core/task-config.js';
import type { TaskHandOff } from '../core/task-hand-off.js';
import { TaskRunner } from '../core/task-runner.js';
import { TASKS_OPTIONS } from '../core/tasks.constants.js';
import { TasksError } from '../core/tasks.errors.js';
import { calledMethod } from '../module/task-scheduler.js';
import type { ResolvedTasksOptions } from '../module/tasks.options.js';
import { DURABLE_BACKOFF, DURABLE_LOGGER_CONTEXT, DURABLE_OPTIONS } from './durable.constants.js';
import { durableMessages } from './durable.messages.js';
import type { ResolvedDurableOptions } from './durable.options.js';
import type { DurableJobData } from './durable-job.js';
import { DurableRegistry, type TaskMethod } from './durable-registry.js';
import { encodeArgs } from './json-args.js';
import { connectionErrors, producerConnection } from './connection.js';

const FIRST_RETRY_DELAY = 50;
const MAX_RETRY_DELAY = 2000;
/**
 * How long one add may wait for Redis before it is retried. BullMQ can hold an add while its
 * connection reconnects, instead of failing it: without this bound the hand-off would wait in
 * silence up to `shutdownTimeout`. A retried add has the same job id, so an abandoned add that
 * reaches Redis later stores the same job, not a second one.
 */
const ATTEMPT_TIMEOUT = 2000;
/** The least time between two replacements of a queue whose setup keeps failing, doubling up to the most. */
const FIRST_RENEWAL_DELAY = 1000;
const MAX_RENEWAL_DELAY = 30_000;

/**
 * The web side: checks durable tasks at `schedule()` and, when one would have started, adds its
 * job to the BullMQ queue — retrying with backoff while Redis is unreachable, within
 * `shutdownTimeout`. Closes the queue once the shutdown drain has awaited every hand-off.
 */
@Injectable()
export class DurableHandOff implements TaskHandOff, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DURABLE_LOGGER_CONTEXT);
  private queue?: Queue<DurableJobData>;
  /** Set when the current queue's first connection failed: BullMQ never retries it. */
  private queueFailed?: unknown;
  /** Replacements since a queue last set its connection up, and when the next may come. */
  private renewals = 0;
  private nextRenewal = 0;
  /** Queues replaced after such a failure, still closing. */
  private readonly retired = new Set<Promise<void>>();
  private removeHandOff?: () => void;
  private closing = false;

  constructor(
    @Inject(DURABLE_OPTIONS) private readonly options: ResolvedDurableOptions,
    @Inject(TASKS_OPTIONS) private readonly tasksOptions: ResolvedTasksOptions,
    private readonly runner: TaskRunner,
    private readonly registry: DurableRegistry,
  ) {}

  onModuleInit(): void {
    this.queue = this.openQueue();
    this.removeHandOff = this.runner.setHandOff(this);
  }

  async onApplicationShutdown(): Promise<void> {
    // The same drain TasksModule awaits: every hand-off in flight has settled after it.
    await this.runner.shutdown();
    this.removeHandOff?.();
    this.closing = true;
    await Promise.all([closeQueue(this.queue), ...this.retired]);
  }

  private openQueue(): Queue<DurableJobData> {
    const queue = new Queue<DurableJobData>(this.options.queue, {
      connection: producerConnection(this.options.connection, () => this.closing),
    });
    connectionErrors(queue, (error) =>
      this.logger.warn(durableMessages.connectionError('queue', this.options.queue, error)),
    );
    this.queueFailed = undefined;
    // A BullMQ queue sets its connection up once (connect, then a version check). If Redis goes
    // away during that check, every add of this queue fails from then on with that error, even
    // after Redis is back. Noted here; the next failed add replaces the queue.
    queue.waitUntilReady().then(
      () => {
        if (this.queue === queue) this.renewals = 0;
      },
      (error: unknown) => {
        if (this.queue === queue) this.queueFailed = error ?? new Error('unknown');
      },
    );
    return queue;
  }

  /**
   * Replaces the queue whose setup failed ({@link openQueue}); the old one closes in the
   * background. While setups keep failing (a cause that lasts), at most once per 1 s, doubling to
   * 30 s, and only the first replacement in a row is a warning.
   */
  private renewQueue(): void {
    const now = Date.now();
    if (now < this.nextRenewal) return;
    this.nextRenewal = now + Math.min(FIRST_RENEWAL_DELAY * 2 ** this.renewals, MAX_RENEWAL_DELAY);
    const message = durableMessages.queueRenewed(this.options.queue, this.queueFailed);
    if (this.renewals++ === 0) this.logger.warn(message);
    else this.logger.debug(message);
    const failed = this.queue;
    this.queue = this.openQueue();
    const closing = closeQueue(failed).finally(() => this.retired.delete(closing));
    this.retired.add(closing);
  }

  check(task: Task): void {
    const name = task.config.name;
    if (name === undefined) throw new TasksError(durableMessages.noName(task.name));
    const [method, ...others] = this.registry.get(name);
    if (method === undefined || others.length > 0) throw new TasksError(durableMessages.noMethod(name));
    if (!isTheMethod(task.func, method)) throw new TasksError(durableMessages.notTheMethod(name, method.owner));
    encodeArgs(name, task.args);
  }

  async send(task: Task): Promise<void> {
    const policy = retryPolicyOf(task.config);
    const data: DurableJobData = {
      args: encodeArgs(task.name, task.args),
      mode: task.mode,
      ...(task.config.timeout !== undefined && task.config.timeout !== Infinity && { timeout: task.config.timeout }),
      ...(policy !== undefined && {
        retry: { delay: policy.delay, backoff: policy.backoff, maxDelay: policy.maxDelay, jitter: policy.jitter },
      }),
    };
    const options: JobsOptions = {
      // Chosen here, so that an add retried after a lost reply is the same job, not a second one.
      jobId: randomUUID(),
      ...(policy !== undefined && { attempts: policy.attempts, backoff: { type: DURABLE_BACKOFF } }),
      ...(this.options.removeOnComplete !== undefined && { removeOnComplete: this.options.removeOnComplete }),
      ...(this.options.removeOnFail !== undefined && { removeOnFail: this.options.removeOnFail }),
    };
    const started = Date.now();
    const deadline = started + this.tasksOptions.shutdownTimeout;
    for (let attempt = 1, delay = FIRST_RETRY_DELAY; ; attempt++, delay = Math.min(delay * 2, MAX_RETRY_DELAY)) {
      try {
        // An add can hang (BullMQ waits for a connection that is reconnecting): bounded per attempt.
        const queue = this.queue as Queue<DurableJobData>;
        await withDeadline(queue.add(task.name, data, options), Math.min(ATTEMPT_TIMEOUT, deadline - Date.now()));
        return;
      } catch (error) {
        if (this.queueFailed !== undefined && !this.closing) this.renewQueue();
        // The last wait is cut to the deadline, so the last try comes at it rather than a backoff step before it.
        const wait = Math.min(delay, deadline - Date.now());
        if (task.signal.aborted || wait <= 0) {
          throw new TasksError(
            durableMessages.handOffFailed(task.name, this.options.queue, Date.now() - started, error),
          );
        }
        this.logger.warn(durableMessages.handOffRetrying(task.name, this.options.queue, attempt, wait, error));
        await sleep(wait, undefined, { signal: task.signal }).catch(() => undefined);
      }
    }
  }
}

/** Closes a queue; its close rejects while Redis is down, which changes nothing here. */
function closeQueue(queue: Queue | undefined): Promise<void> {
  return queue?.close().catch(() => undefined) ?? Promise.resolve();
}

/** An add's time limit reached while it was still waiting for Redis. */
class HandOffDeadline extends Error {
  override readonly name = 'HandOffDeadline';
  constructor(ms: number) {
    super(`no answer from Redis within ${ms} ms`);
  }
}

/** `promise`, or a rejection with a {@link HandOffDeadline} once `ms` have passed. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  // No deadline (shutdownTimeout Infinity), or one past what Node's timers can hold.
  if (!(ms <= 2 ** 31 - 1)) return promise;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HandOffDeadline(Math.max(0, Math.round(ms)))), Math.max(0, ms));
  });
  promise.catch(() => undefined); // a late rejection of an abandoned add is not unhandled
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Whether the function scheduled runs `method`: the method bound at start-up
 * (`schedule(this.mailer.send)`), or the function `call(this.mailer, 'send')` makes for that
 * instance and method. Recognised by identity, never by name: an arrow function or a wrapper
 * named after the method is not it.
 */
function isTheMethod(func: Task['func'], method: TaskMethod): boolean {
  if (func === method.instance[method.key]) return true;
  const called = calledMethod(func);
  return called !== undefined && called.instance === method.instance && called.key === method.key;
}
