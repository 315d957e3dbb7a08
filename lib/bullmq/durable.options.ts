import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency, Provider } from '@nestjs/common';
import type { ConnectionOptions, KeepJobs } from 'bullmq';
import { TasksError } from '../core/tasks.errors.js';
import { DURABLE_OPTIONS } from './durable.constants.js';
import { durableMessages } from './durable.messages.js';

/** The BullMQ worker of a process that runs durable tasks. */
export interface DurableWorkerOptions {
  /**
   * The most jobs this process runs at once, all tasks together. A task's own `concurrency`
   * limits its jobs within it.
   * @default 10
   */
  readonly concurrency?: number;
  /**
   * BullMQ's `lockDuration`: how long a job's lock lasts without renewal, in ms. A job of a
   * worker that died is handed to another worker between `lockDuration` and
   * `lockDuration + stalledInterval` after its death.
   * @default 30000
   */
  readonly lockDuration?: number;
  /** BullMQ's `stalledInterval`, in ms. @default 30000 */
  readonly stalledInterval?: number;
  /**
   * BullMQ's `maxStalledCount`: how many times a job may be recovered from a dead worker before
   * it fails for good (without retrying, whatever `retry` says).
   * @default 1
   */
  readonly maxStalledCount?: number;
}

/**
 * What `DurableTasksModule.forRoot()` takes.
 *
 * @example
 * ```ts
 * DurableTasksModule.forRoot({ connection: { host: '127.0.0.1', port: 6379 }, queue: 'tasks', worker: true })
 * ```
 */
export interface DurableTasksOptions {
  /**
   * How BullMQ reaches Redis: ioredis options (host, port, password, tls, Sentinel's
   * `sentinels` and `name`), Cluster options, or a client instance. Given options, the queue
   * that hands tasks off gets `enableOfflineQueue: false` and `maxRetriesPerRequest: 1`, so that a
   * hand-off fails fast (and is retried) while Redis is unreachable; without a `retryStrategy`,
   * the queue and the worker reconnect after 100 ms, doubling to every 2 s.
   */
  readonly connection: ConnectionOptions;
  /**
   * The BullMQ queue's name: web nodes and workers of one app use the same.
   * @default 'nestjs-tasks'
   */
  readonly queue?: string;
  /**
   * Run a BullMQ worker in this process that runs the durable tasks' jobs: `true`, `false` (a
   * web node that only hands tasks off), or the worker's settings.
   * @default true
   */
  readonly worker?: boolean | DurableWorkerOptions;
  /** How many finished jobs Redis keeps (BullMQ's `removeOnComplete`). @default BullMQ's: all */
  readonly removeOnComplete?: boolean | number | KeepJobs;
  /** How many failed jobs Redis keeps (BullMQ's `removeOnFail`). @default BullMQ's: all */
  readonly removeOnFail?: boolean | number | KeepJobs;
}

/** The options with their defaults filled in (internal). */
export interface ResolvedDurableOptions extends DurableTasksOptions {
  readonly queue: string;
  readonly worker: false | (Required<Pick<DurableWorkerOptions, 'concurrency'>> & DurableWorkerOptions);
}

/** `DurableTasksModule.forRootAsync()` options: a factory, with what it injects. */
export interface DurableTasksAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  readonly inject?: (InjectionToken | OptionalFactoryDependency)[];
  readonly useFactory: (...args: never[]) => DurableTasksOptions | Promise<DurableTasksOptions>;
}

const DEFAULT_QUEUE = 'nestjs-tasks';
const DEFAULT_WORKER_CONCURRENCY = 10;

/** Validates the options and fills their defaults: the one place they are merged. */
export function resolveDurableOptions(options: DurableTasksOptions): ResolvedDurableOptions {
  if (options === null || typeof options !== 'object') {
    throw new TasksError(durableMessages.badOptions('the options', 'an object', options));
  }
  const { connection, queue = DEFAULT_QUEUE, worker = true } = options;
  if (connection === null || typeof connection !== 'object') {
    throw new TasksError(
      durableMessages.badOptions(
        '`connection`',
        "ioredis options such as `{ host: '127.0.0.1', port: 6379 }`",
        connection,
      ),
    );
  }
  if (typeof queue !== 'string' || queue === '' || queue.includes(':')) {
    throw new TasksError(durableMessages.badOptions('`queue`', 'a non-empty string without `:`', queue));
  }
  if (typeof worker !== 'boolean' && (worker === null || typeof worker !== 'object')) {
    throw new TasksError(durableMessages.badOptions('`worker`', 'true, false or the worker settings', worker));
  }
  const concurrency = typeof worker === 'object' ? (worker.concurrency ?? DEFAULT_WORKER_CONCURRENCY) : undefined;
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new TasksError(durableMessages.badOptions('`worker.concurrency`', 'an integer >= 1', concurrency));
  }
  const resolvedWorker =
    worker === false
      ? false
      : { ...(worker === true ? {} : worker), concurrency: concurrency ?? DEFAULT_WORKER_CONCURRENCY };
  return { ...options, queue, worker: resolvedWorker };
}

/** The provider of the resolved options for `forRootAsync()`. */
export function asyncDurableOptionsProvider(options: DurableTasksAsyncOptions): Provider {
  if (typeof options?.useFactory !== 'function') {
    throw new TasksError(
      durableMessages.badOptions('`useFactory`', 'a function returning the options', options?.useFactory),
    );
  }
  const { useFactory, inject = [] } = options;
  return {
    provide: DURABLE_OPTIONS,
    inject,
    useFactory: async (...args: never[]) => resolveDurableOptions(await useFactory(...args)),
  };
}
