import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplicationContext, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Job, Queue } from 'bullmq';
import { TasksError, TasksModule, TasksService } from '../lib/index.js';
import { DurableTasksModule, type DurableTasksOptions, type DurableWorkerOptions } from '../lib/bullmq/index.js';
import { durableMessages } from '../lib/bullmq/durable.messages.js';
import { messages } from '../lib/core/tasks.messages.js';
import {
  FirstDuplicate,
  Holders,
  OpensOnShutdown,
  RequestScopedTasks,
  SecondDuplicate,
  SettingsModule,
  SettingsService,
  TransientTasks,
  UnnamedTasks,
  WORKER_NAME,
  held,
} from './app/durable-module.fixtures.js';
import { Receipts, durable } from './app/durable.fixtures.js';
import { RecordingLogger } from './app/harness.js';
import { startRedis, type RedisServer } from './app/redis-server.js';

let redis: RedisServer;
let queueCount = 0;
/** A queue of its own per test, so that no job of one test reaches another's worker. */
const freshQueue = () => `durable-module-${process.pid}-${++queueCount}`;
const connection = () => ({ host: '127.0.0.1', port: redis.port });

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

let apps: INestApplicationContext[] = [];
let queues: Queue[] = [];
afterEach(async () => {
  held.stubbornGate.open(); // lets a run a test left behind end
  for (const app of apps) await app.close();
  for (const queue of queues) await queue.close();
  apps = [];
  queues = [];
});

/** A queue client of the test's own, to look at the jobs in Redis. */
function inspect(name: string): Queue {
  const queue = new Queue(name, { connection: connection() });
  queues.push(queue);
  return queue;
}

interface WorkerApp {
  app: INestApplicationContext;
  tasks: TasksService;
  holders: Holders;
}

/** A worker-only process as the README shows it: `NestFactory.createApplicationContext()`. */
async function startWorker(
  name: string,
  queue: string,
  logger: RecordingLogger,
  options: { shutdownTimeout?: number; worker?: boolean | DurableWorkerOptions; providers?: Provider[] } = {},
): Promise<WorkerApp> {
  @Module({
    imports: [
      TasksModule.forRoot({ shutdownTimeout: options.shutdownTimeout ?? 5000 }),
      DurableTasksModule.forRoot({ connection: connection(), queue, worker: options.worker ?? true }),
    ],
    providers: [Holders, { provide: WORKER_NAME, useValue: name }, ...(options.providers ?? [])],
  })
  class WorkerModule {}
  const app = await NestFactory.createApplicationContext(WorkerModule, { logger, abortOnError: false });
  apps.push(app);
  return { app, tasks: app.get(TasksService), holders: app.get(Holders) };
}

/** Polls `read` until `done` holds for its value; fails after `timeoutMs` with the last value. */
async function until<T>(what: string, read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  while (!done((last = await read()))) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${String(last)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20)); // a poll interval, not a wait for an outcome
  }
}

/** Compiles and initialises an app with `providers` next to DurableTasksModule; resolves to init()'s error. */
async function startUpError(providers: Provider[]): Promise<unknown> {
  @Module({
    imports: [TasksModule.forRoot(), DurableTasksModule.forRoot({ connection: connection(), queue: freshQueue() })],
    providers,
  })
  class RefusedModule {}
  const moduleRef = await Test.createTestingModule({ imports: [RefusedModule] }).compile();
  moduleRef.useLogger(new RecordingLogger());
  apps.push(moduleRef); // closed after the test: the queue may have opened its connection
  return moduleRef.init().then(
    () => new Error('init() succeeded'),
    (error: unknown) => error,
  );
}

describe('DurableTasksModule at start-up', () => {
  it('refuses two @Task methods sharing the name of a durable one, naming both and the fix', async () => {
    const error = await startUpError([FirstDuplicate, SecondDuplicate]);
    expect(error).toEqual(
      new TasksError(durableMessages.duplicateName('notify', ['FirstDuplicate.notify', 'SecondDuplicate.ping'])),
    );
    expect(error).toBeInstanceOf(TasksError);
    expect(String(error)).toContain('Give each a name of its own');
  });

  it.each([
    ['request-scoped', RequestScopedTasks, 'RequestScopedTasks.run', 'per_request'],
    ['transient', TransientTasks, 'TransientTasks.run', 'per_injection'],
  ] as const)('refuses a durable @Task method of a %s provider, naming the fix', async (_scope, type, owner, name) => {
    const error = await startUpError([type]);
    expect(error).toEqual(new TasksError(durableMessages.notSingleton(owner, name)));
    expect(error).toBeInstanceOf(TasksError);
    expect(String(error)).toContain('Move the method to a singleton provider');
  });

  it('refuses a durable @Task method without a name, naming the fix', async () => {
    const error = await startUpError([UnnamedTasks]);
    expect(error).toEqual(new TasksError(durableMessages.unnamedMethod('UnnamedTasks.sync')));
    expect(error).toBeInstanceOf(TasksError);
    expect(String(error)).toContain("@Task({ name: 'send_receipt', durable: true })");
  });
});

describe('DurableTasksModule.forRootAsync', () => {
  /** A worker app whose durable options come from a ConfigService look-alike. */
  async function startAsync(settings: Record<string, string>, factory?: (config: SettingsService) => unknown) {
    @Module({
      imports: [
        TasksModule.forRoot(),
        DurableTasksModule.forRootAsync({
          imports: [SettingsModule.register(settings)],
          inject: [SettingsService],
          useFactory:
            (factory as (config: SettingsService) => DurableTasksOptions) ??
            (async (config: SettingsService) => ({
              connection: { host: config.get('REDIS_HOST'), port: Number(config.get('REDIS_PORT')) },
              queue: config.get('DURABLE_QUEUE'),
              worker: { concurrency: Number(config.get('WORKER_CONCURRENCY')) },
            })),
        }),
      ],
      providers: [Receipts],
    })
    class AsyncModule {}
    const app = await NestFactory.createApplicationContext(AsyncModule, {
      logger: new RecordingLogger(),
      abortOnError: false,
    });
    apps.push(app);
    return app;
  }

  it('takes its options from an injected provider: a task is handed off and run by the worker', async () => {
    durable.reset();
    const queue = freshQueue();
    const app = await startAsync({
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      DURABLE_QUEUE: queue,
      WORKER_CONCURRENCY: '4',
    });
    const tasks = app.get(TasksService);
    tasks.call(app.get(Receipts), 'sendReceipt', 'a-1');
    await tasks.onIdle();
    await durable.probe.waitFor('ran:a-1', 10_000);
    expect(durable.runs).toEqual([expect.objectContaining({ self: true, args: ['a-1'], name: 'send_receipt' })]);
    // The job went through the queue the provider named, in the Redis it named.
    const [job] = await inspect(queue).getJobs(['completed']);
    expect(job?.name).toBe('send_receipt');
  });

  it.each([
    ['a connection that is a URL string', () => ({ connection: 'redis://127.0.0.1:6379' })],
    ['a queue name with a colon', (config: SettingsService) => ({ connection: {}, queue: config.get('QUEUE') })],
    ['nothing', () => undefined],
  ])('refuses options made of %s at start-up, naming the option', async (_what, factory) => {
    const error = await startAsync({ QUEUE: 'orders:tasks' }, factory).then(
      () => new Error('start-up succeeded'),
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TasksError);
    expect(String(error)).toMatch(/Expected (`connection`|`queue`|the options) of DurableTasksModule to be /);
  });

  it('refuses forRootAsync() without a useFactory when it is called', () => {
    expect(() => DurableTasksModule.forRootAsync({ inject: [SettingsService] } as never)).toThrow(
      new TasksError(durableMessages.badOptions('`useFactory`', 'a function returning the options', undefined)),
    );
  });
});

describe('a worker at shutdown', () => {
  it('leaves a job that outlasts shutdownTimeout, and another worker recovers it through stalled recovery', async () => {
    held.reset();
    const queue = freshQueue();
    const logger = new RecordingLogger();
    const stalled = { lockDuration: 1000, stalledInterval: 300 };
    const first = await startWorker('first', queue, logger, { shutdownTimeout: 400, worker: stalled });
    first.tasks.call(first.holders, 'stubborn');
    await held.probe.waitFor('stubborn:1:first', 10_000);

    const closeStarted = Date.now();
    await first.app.close();
    const closeMs = Date.now() - closeStarted;
    expect(closeMs).toBeGreaterThanOrEqual(390);
    expect(closeMs).toBeLessThan(400 + 1500);
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toContain(
      durableMessages.workerDeadline(400, ['stubborn']),
    );
    const jobs = inspect(queue);
    const [left] = await jobs.getJobs(['active', 'completed', 'failed', 'waiting']);
    expect(await left?.getState()).toBe('active'); // left in Redis, not completed by the first worker

    const recoveryStarted = Date.now();
    await startWorker('second', queue, logger, { worker: stalled });
    await held.probe.waitFor('stubborn:2:second', 10_000);
    await until(
      'state of the recovered job',
      async () => (await Job.fromId(jobs, left!.id!))?.getState(),
      (state) => state === 'completed',
    );
    const recovered = await Job.fromId(jobs, left!.id!);
    expect(held.stubbornRuns).toEqual([
      { jobId: left!.id, attempt: 1, worker: 'first' },
      { jobId: left!.id, attempt: 1, worker: 'second' }, // a recovery is not an attempt: attemptsMade unchanged
    ]);
    expect(recovered?.stalledCounter).toBe(1);
    process.stdout.write(
      `worker shutdown: close() returned ${closeMs} ms after it was called (shutdownTimeout 400 ms); ` +
        `the job ran again on the second worker ${Date.now() - recoveryStarted} ms after it started ` +
        `(lockDuration ${stalled.lockDuration}, stalledInterval ${stalled.stalledInterval})\n`,
    );
  });

  it('reports a job BullMQ fails for stalling more than maxStalledCount times: never silent, though it never runs again', async () => {
    held.reset();
    const queue = freshQueue();
    const logger = new RecordingLogger();
    const first = await startWorker('first', queue, logger, {
      shutdownTimeout: 300,
      worker: { lockDuration: 1000, stalledInterval: 300 },
    });
    first.tasks.call(first.holders, 'stubborn');
    await held.probe.waitFor('stubborn:1:first', 10_000);
    await first.app.close(); // leaves the job active in Redis, its lock no longer renewed
    const jobs = inspect(queue);
    const [left] = await jobs.getJobs(['active']);

    // A second worker that allows no stall: its recovery fails the job instead of running it.
    await startWorker('second', queue, logger, {
      worker: { lockDuration: 1000, stalledInterval: 300, maxStalledCount: 0 },
    });
    await until(
      'state of the abandoned job',
      async () => (await Job.fromId(jobs, left!.id!))?.getState(),
      (state) => state === 'failed',
    );
    const failedReason = (await Job.fromId(jobs, left!.id!))!.failedReason;
    const expected = messages.taskFailed(
      'stubborn',
      new Error(durableMessages.failedUnrun('stubborn', left!.id!, failedReason)),
    );
    await until(
      'the error line',
      () => logger.lines.filter((line) => line.level === 'error').map((line) => line.message),
      (errors) => errors.includes(expected),
    );
    expect(held.stubbornRuns.map((run) => run.worker)).toEqual(['first']); // never run again
    expect(failedReason).toBe('job stalled more than allowable limit');
  });

  it('lets a job that ends within shutdownTimeout complete in Redis before close() returns', async () => {
    held.reset();
    const queue = freshQueue();
    const logger = new RecordingLogger();
    const worker = await startWorker('only', queue, logger, { providers: [OpensOnShutdown] });
    worker.tasks.call(worker.holders, 'patient', 'p-1');
    await held.probe.waitFor('patient:started:p-1', 10_000);

    await worker.app.close();
    held.probe.record('closed');
    // The job ended after the worker had stopped taking jobs (Nest calls beforeApplicationShutdown
    // after every onModuleDestroy), and was completed in Redis before close() returned.
    expect(held.probe.events).toEqual([
      'patient:started:p-1',
      'beforeApplicationShutdown',
      'patient:done:p-1',
      'closed',
    ]);
    const [job] = await inspect(queue).getJobs(['active', 'completed', 'failed', 'waiting']);
    expect(await job?.getState()).toBe('completed');
    expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([]);
  });
  it('closes an idle worker at shutdownTimeout while Redis is down, saying why', async () => {
    held.reset();
    const queue = freshQueue();
    const logger = new RecordingLogger();
    const worker = await startWorker('only', queue, logger, { shutdownTimeout: 400 });
    worker.tasks.call(worker.holders, 'free', 'd-1');
    await held.probe.waitFor('free:d-1', 10_000); // the worker is taking jobs
    await redis.stop();
    let closeMs: number;
    try {
      const closeStarted = Date.now();
      await worker.app.close(); // BullMQ's own close() would wait for Redis to come back
      closeMs = Date.now() - closeStarted;
    } finally {
      redis = await startRedis({ port: redis.port });
    }
    expect(closeMs).toBeLessThan(400 + 1500);
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toContain(
      durableMessages.workerNotStopped(400, queue),
    );
  });
});

describe("a task's concurrency on the worker", () => {
  it('runs at most `concurrency` of its jobs at once while more are active, and other tasks meanwhile', async () => {
    held.reset();
    const queue = freshQueue();
    const worker = await startWorker('only', queue, new RecordingLogger(), { worker: { concurrency: 10 } });
    for (let id = 1; id <= 6; id++) worker.tasks.call(worker.holders, 'limited', id);
    await worker.tasks.onIdle();
    const jobs = inspect(queue);
    // BullMQ has handed all six to this worker (its concurrency is 10), and two of them run.
    await until(
      'active jobs in Redis',
      () => jobs.getActiveCount(),
      (count) => count === 6,
    );
    const started = () => held.probe.events.filter((event) => event.startsWith('limited:started')).length;
    await until('limited jobs started', started, (count) => count >= 2);
    // A job of another task is taken and run meanwhile, in later turns of the event loop.
    worker.tasks.call(worker.holders, 'free', 'f-1');
    await held.probe.waitFor('free:f-1', 10_000);
    expect({ inFlight: held.inFlight, max: held.maxInFlight }).toEqual({ inFlight: 2, max: 2 });

    held.limitedGate.open();
    await until(
      'completed jobs',
      () => jobs.getCompletedCount(),
      (count) => count === 7,
    );
    expect(held.probe.events.filter((event) => event.startsWith('limited:done')).length).toBe(6);
    expect(held.maxInFlight).toBe(2);
  });
});

describe('a durable call site', () => {
  it('refuses an arrow function that carries the method name, scheduled or called, naming the fix', async () => {
    const worker = await startWorker('web', freshQueue(), new RecordingLogger(), { worker: false });
    const refusal = new TasksError(durableMessages.notTheMethod('free', 'Holders.free'));
    const free = (id: string) => worker.holders.free(id);
    expect(free.name).toBe('free');
    const named = worker.tasks.task({ name: 'free', durable: true });
    expect(() => named.schedule(free, 'x')).toThrow(refusal);
    expect(() => named.call({ free }, 'free', 'x')).toThrow(refusal);
    // Another instance of the class is not the one a worker would run the job on.
    const copy = Object.create(Holders.prototype) as Holders;
    expect(() => worker.tasks.call(copy, 'free', 'x')).toThrow(refusal);
    // The method itself, by either way, is accepted.
    worker.tasks.call(worker.holders, 'free', 'ok-1');
    worker.tasks.schedule(worker.holders.free, 'ok-2');
    await worker.tasks.onIdle();
    expect(worker.tasks.stats()).toMatchObject({ succeeded: 2, failed: 0 });
  });
});
