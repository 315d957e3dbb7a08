import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { TaskTimeoutError, TasksError, TasksModule, TasksService } from '../lib/index.js';
import { DurableTasksModule, type DurableTasksOptions } from '../lib/bullmq/index.js';
import { durableMessages } from '../lib/bullmq/durable.messages.js';
import { messages } from '../lib/core/tasks.messages.js';
import { DurableController, Receipts, durable, jobsIn } from './app/durable.fixtures.js';
import { RecordingLogger, adapters, startApp, type TestApp } from './app/harness.js';
import { startRedis, type RedisServer } from './app/redis-server.js';

let redis: RedisServer;
let queueCount = 0;
/** A queue of its own per test, so that no job of one test reaches another's worker. */
const freshQueue = () => `durable-${process.pid}-${++queueCount}`;
const connection = () => ({ host: '127.0.0.1', port: redis.port });

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Resolves once `logger` has a warn line containing `text`; rejects with `failure` after 10 s. */
function warned(logger: RecordingLogger, text: string, failure: string): Promise<void> {
  return logger.waitForLine((line) => line.level === 'warn' && line.message.includes(text), 10_000, failure);
}

/** A standalone app (no HTTP) with TasksModule and DurableTasksModule: a worker process. */
async function startContext(durableOptions: Partial<DurableTasksOptions>, shutdownTimeout = 5000) {
  @Module({
    imports: [
      TasksModule.forRoot({ shutdownTimeout }),
      DurableTasksModule.forRoot({ connection: connection(), ...durableOptions }),
    ],
    providers: [Receipts],
  })
  class WorkerModule {}
  const moduleRef = await Test.createTestingModule({ imports: [WorkerModule] }).compile();
  const logger = new RecordingLogger();
  moduleRef.useLogger(logger);
  await moduleRef.init();
  return { app: moduleRef, tasks: moduleRef.get(TasksService), receipts: moduleRef.get(Receipts), logger };
}

describe.each(adapters)('durable tasks over HTTP on %s', (adapter) => {
  let t: TestApp;
  let queue: Queue;
  let name: string;

  const start = async (worker: boolean) => {
    durable.reset();
    name = freshQueue();
    queue = new Queue(name, { connection: connection() });
    t = await startApp(adapter, {
      imports: [DurableTasksModule.forRoot({ connection: connection(), queue: name, worker })],
      controllers: [DurableController],
      providers: [Receipts],
    });
  };
  afterEach(async () => {
    await t?.app.close();
    await queue?.close();
  });

  it.each([
    ['immediate', 1],
    ['afterRoute', 0],
    ['afterResponse', 0],
  ] as const)('hands a durable %s task off when it would have started', async (mode, startedAtHandlerEnd) => {
    await start(false);
    durable.countJobs = async () => (await jobsIn(queue)).length;
    await t.http.post(`/durable/${mode}/o-1`).expect(201);
    await t.tasks.onIdle(); // counts the task until Redis has acknowledged the job
    expect(await jobsIn(queue)).toEqual([{ name: 'send_receipt', args: ['o-1'], id: expect.any(String) }]);
    const [atHandlerEnd] = durable.probe.events.filter((event) => event.startsWith('handler:'));
    // A deferred hand-off has not begun when the handler ends (nothing in Redis); an immediate one has.
    if (startedAtHandlerEnd === 0) expect(atHandlerEnd).toBe('handler:o-1:attempt=0:stored=0');
    else expect(atHandlerEnd).toMatch(/^handler:o-1:attempt=1:stored=[01]$/);
    // An afterResponse hand-off begins once the response is sent.
    if (mode === 'afterResponse') expect(durable.probe.has('finish:o-1:attempt=0')).toBe(true);
    expect(t.tasks.stats().succeeded).toBe(1);
  });

  it('drops the durable afterResponse task of a failed request, and hands off the `always` one', async () => {
    await start(false);
    const answer = await t.http.post('/durable/fail/o-2');
    expect({ status: answer.status, errors: t.logger.lines.filter((line) => line.level === 'error') }).toEqual({
      status: 409,
      errors: [],
    });
    await t.tasks.onIdle();
    expect(await jobsIn(queue)).toEqual([{ name: 'send_receipt', args: ['o-2-always'], id: expect.any(String) }]);
    expect(t.logger.tasks('debug').map((line) => line.message)).toContain(
      messages.droppedFailedRequest('send_receipt', 'afterResponse'),
    );
  });

  it('runs the handed-off job on the worker of the same app, with `this`, the arguments and the mode', async () => {
    await start(true);
    await t.http.post('/durable/afterResponse/o-3').expect(201);
    await durable.probe.waitFor('ran:o-3', 10_000);
    expect(durable.runs).toEqual([
      {
        self: true,
        args: ['o-3'],
        name: 'send_receipt',
        jobId: expect.any(String),
        attempt: 1,
        mode: 'afterResponse',
        at: expect.any(Number),
      },
    ]);
  });
});

describe('durable tasks on a worker', () => {
  let apps: { close(): Promise<void> }[] = [];
  let queue: Queue | undefined;
  let events: QueueEvents | undefined;
  const track = <T extends { app: { close(): Promise<void> } }>(started: T): T => (apps.push(started.app), started);

  afterEach(async () => {
    for (const app of apps) await app.close();
    apps = [];
    await events?.close();
    await queue?.close();
    queue = events = undefined;
  });

  it('runs the @Task method with its instance, JSON arguments (Dates revived), name, attempt and a stable job id', async () => {
    durable.reset();
    const { tasks, receipts } = track(await startContext({ queue: freshQueue() }));
    const at = new Date('2024-05-06T07:08:09.000Z');
    tasks.schedule(receipts.sendReceipt, 'o-4', { total: 12.5, at });
    await durable.probe.waitFor('ran:o-4', 10_000);
    const [run] = durable.runs;
    expect(run).toEqual({
      self: true,
      args: ['o-4', { total: 12.5, at }],
      name: 'send_receipt',
      jobId: expect.any(String),
      attempt: 1,
      mode: 'immediate',
      at: expect.any(Number),
    });
    expect((run!.args[1] as { at: unknown }).at).toBeInstanceOf(Date);
  });

  it('retries a failing job with its backoff under one job id, then calls onError once, on the worker', async () => {
    durable.reset();
    const name = freshQueue();
    const { tasks, receipts } = track(await startContext({ queue: name }));
    tasks.call(receipts, 'doomed', 'o-5');
    await durable.probe.waitFor('onError:doomed', 10_000);
    queue = new Queue(name, { connection: connection() });
    const [job] = await queue.getJobs(['failed', 'active']);
    expect(durable.runs.map((run) => run.attempt)).toEqual([1, 2, 3]);
    expect(new Set(durable.runs.map((run) => run.jobId)).size).toBe(1);
    for (let i = 1; i < durable.runs.length; i++) {
      expect(durable.runs[i]!.at - durable.runs[i - 1]!.at).toBeGreaterThanOrEqual(100);
    }
    expect(durable.errors).toHaveLength(1);
    expect(durable.errors[0]).toMatchObject({ name: 'doomed', attempt: 3, jobId: durable.runs[0]!.jobId });
    expect(String(durable.errors[0]!.error)).toContain('doomed o-5');
    expect(job?.id).toBe(durable.runs[0]!.jobId);
  });

  it('aborts the signal of an attempt past its timeout, retries, and hands the TaskTimeoutError to onError', async () => {
    durable.reset();
    const { tasks, receipts } = track(await startContext({ queue: freshQueue() }));
    tasks.call(receipts, 'slow', 'o-6');
    await durable.probe.waitFor('onError:slow', 10_000);
    expect(durable.runs.map((run) => run.attempt)).toEqual([1, 2]);
    expect(durable.errors).toHaveLength(1);
    expect(durable.errors[0]!.error).toEqual(new TaskTimeoutError('slow', 150, 2));
  });

  it.each([
    ['a function', () => undefined, 'function', 'and a function has no JSON form'],
    ['a BigInt', 10n, 'bigint', 'and a bigint has no JSON form'],
    ['a Map', new Map(), 'object', 'an instance of Map, which would arrive as a plain object or not at all'],
    ['NaN', Number.NaN, 'number', 'which JSON stores as null'],
  ])('refuses %s as an argument at schedule(), naming its index and type', async (_what, value, _type, reason) => {
    const { tasks, receipts } = track(await startContext({ queue: freshQueue(), worker: false }));
    const call = () => tasks.call(receipts, 'sendReceipt', 'o-7', { total: 1, at: value as never });
    expect(call).toThrow(new TasksError(durableMessages.notJson('send_receipt', 1, 'argument 1.at', value, reason)));
    expect(tasks.stats().pending + tasks.stats().running + tasks.stats().succeeded).toBe(0);
  });

  it('refuses a cycle, naming where it is', async () => {
    const { tasks, receipts } = track(await startContext({ queue: freshQueue(), worker: false }));
    const details: Record<string, unknown> = { total: 1 };
    details.self = details;
    expect(() => tasks.call(receipts, 'sendReceipt', 'o-8', details as never)).toThrow(
      new TasksError(
        durableMessages.notJson('send_receipt', 1, 'argument 1.self', details, 'a cycle (it contains itself)'),
      ),
    );
  });

  it('refuses an arrow function, an unnamed task and a missing DurableTasksModule at the call, naming the fix', async () => {
    const { tasks, receipts } = track(await startContext({ queue: freshQueue(), worker: false }));
    expect(() =>
      tasks.task({ name: 'send_receipt', durable: true }).schedule((id: string) => receipts.sendReceipt(id), 'x'),
    ).toThrow(new TasksError(durableMessages.notTheMethod('send_receipt', 'Receipts.sendReceipt')));
    expect(() => tasks.task({ durable: true }).schedule(function audit() {})).toThrow(
      new TasksError(durableMessages.noName('audit')),
    );
    const bare = await Test.createTestingModule({ imports: [TasksModule.forRoot()], providers: [Receipts] }).compile();
    apps.push(bare);
    await bare.init();
    expect(() => bare.get(TasksService).call(bare.get(Receipts), 'sendReceipt', 'o-9')).toThrow(
      new TasksError(messages.durableWithoutModule('send_receipt')),
    );
  });

  it('fails a job whose name has no @Task method in this worker, with a clear message', async () => {
    const name = freshQueue();
    const { logger } = track(await startContext({ queue: name }));
    queue = new Queue(name, { connection: connection() });
    events = new QueueEvents(name, { connection: connection() });
    await events.waitUntilReady();
    const job = await queue.add('renamed_task', { args: [], mode: 'immediate' }, { attempts: 3 });
    const message = durableMessages.unknownJob('renamed_task', name, ['send_receipt', 'doomed', 'slow', 'local']);
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(message);
    const stored = await Job.fromId(queue, job.id!);
    expect(stored!.attemptsMade).toBe(1); // not retried: no attempt could find the method
    expect(logger.lines.filter((line) => line.level === 'error').map((line) => line.message)).toContain(message);
  });

  it('retries a hand-off while Redis is down and stores the job once it is back', async () => {
    durable.reset();
    const { tasks, receipts, logger } = track(await startContext({ queue: freshQueue() }, 20_000));
    await redis.stop();
    try {
      tasks.call(receipts, 'sendReceipt', 'o-10');
      await warned(logger, 'could not be handed', 'no hand-off retry logged');
    } finally {
      redis = await startRedis({ port: redis.port });
    }
    await tasks.onIdle();
    expect(tasks.stats().succeeded).toBe(1);
    await durable.probe.waitFor('ran:o-10', 15_000);
  }, 45_000);

  /**
   * Runs `body` with a Redis user that may not run INFO: BullMQ checks the Redis version (INFO)
   * once per queue, after connecting, and if that fails — Redis went away during it, as a CI run
   * once saw, or here a user that may not run INFO — the queue fails every add from then on.
   * ioredis itself skips its ready check on NOPERM (and warns on the console: silenced).
   */
  async function withoutInfo(
    body: (user: { username: string; password: string }, grantInfo: () => Promise<unknown>) => Promise<void>,
  ) {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const admin = new Redis({ host: '127.0.0.1', port: redis.port });
    const username = `handoff-${process.pid}`;
    try {
      await admin.acl('SETUSER', username, 'on', '>secret', '~*', '&*', '+@all', '-info');
      await body({ username, password: 'secret' }, () => admin.acl('SETUSER', username, '+info'));
    } finally {
      await admin.acl('DELUSER', username);
      admin.disconnect();
      warn.mockRestore();
    }
  }
  const renewedLines = (logger: RecordingLogger, queue: string) =>
    logger.lines.filter((line) => line.message.startsWith(`The BullMQ queue "${queue}" failed while it set up`));

  it('replaces a queue whose connection setup failed, which BullMQ never retries, and hands off through the new one', async () => {
    await withoutInfo(async (user, grantInfo) => {
      const queue = freshQueue();
      const { tasks, receipts, logger } = track(
        await startContext({ queue, worker: false, connection: { ...connection(), ...user } }),
      );
      tasks.call(receipts, 'sendReceipt', 'o-12');
      await warned(logger, `The BullMQ queue "${queue}" failed while it set up`, 'no queue replaced');
      await grantInfo();
      await tasks.onIdle();
      expect(tasks.stats().succeeded).toBe(1);
      const stored = new Queue(queue, { connection: connection() });
      try {
        expect(await jobsIn(stored)).toEqual([{ name: 'send_receipt', args: ['o-12'], id: expect.any(String) }]);
      } finally {
        await stored.close();
      }
    });
  });

  it('replaces a queue whose setup keeps failing at most once a second, doubling, and warns once', async () => {
    await withoutInfo(async (user) => {
      const queue = freshQueue();
      const { tasks, receipts, logger } = track(
        await startContext({ queue, worker: false, connection: { ...connection(), ...user } }, 3000),
      );
      for (let i = 0; i < 10; i++) tasks.call(receipts, 'sendReceipt', `o-${i}`);
      await tasks.onIdle(); // every hand-off gives up at shutdownTimeout: the cause lasts
      expect(tasks.stats().failed).toBe(10);
      const renewed = renewedLines(logger, queue);
      // At 0 s, after 1 s and after 3 s at most (without the bound: about 20 in these 3 s).
      expect(renewed.length).toBeGreaterThanOrEqual(2);
      expect(renewed.length).toBeLessThanOrEqual(3);
      expect(renewed.map((line) => line.level)).toEqual(['warn', ...renewed.slice(1).map(() => 'debug')]);
    });
  });

  it('gives up on a hand-off at shutdownTimeout and reports it to onError with the task name', async () => {
    const { tasks, receipts } = track(await startContext({ queue: freshQueue(), worker: false }, 500));
    await redis.stop();
    const reported: unknown[] = [];
    try {
      tasks.task({ onError: (_task, error) => void reported.push(error) }).call(receipts, 'sendReceipt', 'o-11');
      await tasks.onIdle();
    } finally {
      redis = await startRedis({ port: redis.port });
    }
    expect(tasks.stats().failed).toBe(1);
    expect(reported).toHaveLength(1);
    expect(String(reported[0])).toMatch(
      /Task "send_receipt" was not handed to queue "[^"]+": Redis did not take it within \d+ ms/,
    );
  });
});
