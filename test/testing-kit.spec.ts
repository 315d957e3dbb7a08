import { afterEach, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { TaskTimeoutError, TasksError, TasksModule, type Task } from '../lib/index.js';
import { TaskFailuresError, TasksProbe, TasksTestingModule, type TaskRecord } from '../lib/testing/index.js';
import { testingMessages } from '../lib/testing/testing.messages.js';
import { adapters, startApp, type AdapterName, type TestApp } from './app/harness.js';
import { KitController, Receipts, audit, audited } from './app/kit.fixtures.js';

/** What a test reads of a record. */
const summary = (record: TaskRecord) => ({
  name: record.name,
  mode: record.mode,
  args: record.args,
  state: record.state,
  request: record.request,
});

describe.each(adapters)('the testing kit (nestjs-tasks/testing) on %s', (adapter) => {
  let app: TestApp | undefined;
  let reported: string[];
  const onError = (task: Task, error: unknown) => void reported.push(`${task.name}: ${(error as Error).message}`);
  afterEach(async () => {
    await app?.app.close();
    app = undefined;
    audited.length = 0;
  });

  /** The kit in place of TasksModule.forRoot(), with a global onError. */
  const start = async (mode: 'run' | 'capture') => {
    reported = [];
    app = await startApp(adapter, {
      tasksModule: [TasksTestingModule.forRoot({ mode, onError })],
      controllers: [KitController],
      providers: [Receipts],
    });
    return { probe: app.get(TasksProbe), receipts: app.get(Receipts), http: app.http };
  };

  describe("'run' mode", () => {
    it('records each task with its name, mode, arguments, config, final state and request', async () => {
      const { probe, receipts, http } = await start('run');
      await http.post('/kit/orders/o-1?source=test').expect(201);
      await probe.drain();

      expect(receipts.sent).toEqual(['o-1']);
      expect(audited).toEqual(['o-1']);
      const request = { method: 'POST', url: '/kit/orders/o-1?source=test' };
      expect(probe.scheduled.map(summary)).toEqual([
        { name: 'send_receipt', mode: 'afterResponse', args: ['o-1'], state: 'succeeded', request },
        { name: 'audit_o-1', mode: 'immediate', args: ['o-1'], state: 'succeeded', request },
      ]);
      expect(probe.find('send_receipt')!.config.onError).toBe(onError);
      expect(probe.find(audit)!.name).toBe('audit_o-1');
      expect(probe.find(Receipts.prototype.send)!.name).toBe('send_receipt');
      expect(probe.find('nothing')).toBeUndefined();
    });

    it('drain() rejects with an AggregateError naming each failed and timed-out task, though onError handled them', async () => {
      const { probe, http } = await start('run');
      await http.post('/kit/broken').expect(201);

      const failure = await probe.drain().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(AggregateError);
      expect(failure).toBeInstanceOf(TaskFailuresError);
      const records = (failure as TaskFailuresError).records;
      expect(records.map((record) => [record.name, record.state])).toEqual([
        ['explode', 'failed'],
        ['stuck', 'timedOut'],
      ]);
      expect((failure as Error).message).toBe(testingMessages.failures(records));
      expect((failure as Error).message).toContain('"explode" (afterRoute) failed: Error: the warehouse is on fire');
      expect((failure as Error).message).toContain('"stuck" (immediate) timed out: TaskTimeoutError');
      expect((failure as AggregateError).errors[1]).toBeInstanceOf(TaskTimeoutError);
      expect(reported.sort()).toEqual([
        'explode: the warehouse is on fire',
        'stuck: Task "stuck" timed out: attempt 1 ran longer than its timeout of 20 ms.',
      ]);
      // Each failure is reported once.
      await expect(probe.drain()).resolves.toBeUndefined();
    });

    it('clear() forgets the records and the failures not yet reported', async () => {
      const { probe, http } = await start('run');
      await http.post('/kit/broken').expect(201);
      await app!.tasks.onIdle();
      expect(probe.scheduled).toHaveLength(2);
      probe.clear();
      expect(probe.scheduled).toEqual([]);
      await expect(probe.drain()).resolves.toBeUndefined();
    });

    it("keeps a failed request's dropped task as dropped", async () => {
      const { probe, http } = await start('run');
      await http.post('/kit/cancel').expect(400);
      await probe.drain();
      expect(probe.scheduled.map(summary)).toEqual([
        {
          name: 'notify_cancel',
          mode: 'afterResponse',
          args: ['cancel'],
          state: 'dropped',
          request: { method: 'POST', url: '/kit/cancel' },
        },
      ]);
      expect(audited).toEqual([]);
    });
  });

  describe("'capture' mode", () => {
    it('holds every task until the test runs it, then runs it for real', async () => {
      const { probe, receipts, http } = await start('capture');
      await http.post('/kit/orders/o-2').expect(201);
      await probe.drain();

      expect(receipts.sent).toEqual([]);
      expect(audited).toEqual([]);
      expect(probe.scheduled.map((record) => [record.name, record.state])).toEqual([
        ['send_receipt', 'captured'],
        ['audit_o-2', 'captured'],
      ]);

      const receipt = probe.find('send_receipt')!;
      await probe.run(receipt);
      expect(receipts.sent).toEqual(['o-2']);
      expect(receipt.state).toBe('succeeded');
      expect(receipt.mode).toBe('afterResponse');
      expect(probe.find('audit_o-2')!.state).toBe('captured');

      await probe.runAll();
      expect(audited).toEqual(['o-2']);
      expect(probe.scheduled.map((record) => record.state)).toEqual(['succeeded', 'succeeded']);
    });

    it('runs captured tasks through the library: onError, timeouts, and drain() failures', async () => {
      const { probe, http } = await start('capture');
      await http.post('/kit/broken').expect(201);
      await probe.drain();
      expect(reported).toEqual([]);

      await expect(probe.runAll()).rejects.toThrow(TaskFailuresError);
      expect(reported.sort()).toEqual([
        'explode: the warehouse is on fire',
        'stuck: Task "stuck" timed out: attempt 1 ran longer than its timeout of 20 ms.',
      ]);
      expect(probe.scheduled.map((record) => [record.name, record.state])).toEqual([
        ['explode', 'failed'],
        ['stuck', 'timedOut'],
      ]);
    });

    it('runs a captured task in the async context where it was scheduled', async () => {
      const { probe, http } = await start('capture');
      await http.post('/kit/chain').expect(201);
      await probe.drain();
      // `first` schedules an afterResponse task: outside its request that would throw.
      await probe.run(probe.find('first')!);
      expect(probe.find('first')!.state).toBe('succeeded');
      expect(summary(probe.find('follow_up')!)).toEqual({
        name: 'follow_up',
        mode: 'afterResponse',
        args: ['follow_up'],
        state: 'captured',
        request: { method: 'POST', url: '/kit/chain' },
      });
    });

    it('does not capture the tasks a failed request dropped, and run() refuses them', async () => {
      const { probe, http } = await start('capture');
      await http.post('/kit/cancel').expect(400);
      await probe.drain();
      const dropped = probe.find('notify_cancel')!;
      expect(dropped.state).toBe('dropped');
      await expect(probe.run(dropped)).rejects.toThrow(
        new TasksError(testingMessages.notCaptured('notify_cancel', 'dropped')),
      );
      await probe.runAll();
      expect(audited).toEqual([]);
    });

    it('switches mode at run time: probe.mode', async () => {
      const { probe, receipts, http } = await start('capture');
      probe.mode = 'run';
      await http.post('/kit/orders/o-3').expect(201);
      await probe.drain();
      expect(receipts.sent).toEqual(['o-3']);
    });
  });
});

/** The app under test, as a user's AppModule would be: it imports TasksModule.forRoot() itself. */
const appOnError = (task: Task, error: unknown) => void appErrors.push(`${task.name}: ${(error as Error).message}`);
const appErrors: string[] = [];
const appTasksModule = TasksModule.forRoot({ onError: appOnError });

@Module({ imports: [appTasksModule], controllers: [KitController], providers: [Receipts] })
class KitAppModule {}

const createAdapter = { express: () => new ExpressAdapter(), fastify: () => new FastifyAdapter() };

describe.each(adapters)('the testing kit with an unchanged AppModule, on %s', (adapter: AdapterName) => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    appErrors.length = 0;
    audited.length = 0;
  });

  const listen = async (moduleRef: Awaited<ReturnType<ReturnType<typeof Test.createTestingModule>['compile']>>) => {
    app = moduleRef.createNestApplication(createAdapter[adapter](), { logger: false });
    await app.listen(0, '127.0.0.1');
    if (adapter === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
    return request((await app.getUrl()).replace('[::1]', '127.0.0.1'));
  };

  it("register(): observes the app's own TasksModule, whose global onError still gets the failures", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [KitAppModule, TasksTestingModule.register({ mode: 'run' })],
    }).compile();
    const http = await listen(moduleRef);
    await http.post('/kit/broken').expect(201);
    await expect(app!.get(TasksProbe).drain()).rejects.toThrow('"explode" (afterRoute) failed');
    expect(appErrors).toContain('explode: the warehouse is on fire');
  });

  it("overrideModule() puts the kit in TasksModule's place; overrideProvider() stands in for a provider", async () => {
    const fake = { sent: [] as string[], send: async (id: string) => void fake.sent.push(`fake:${id}`) };
    const moduleRef = await Test.createTestingModule({ imports: [KitAppModule] })
      .overrideModule(appTasksModule)
      .useModule(TasksTestingModule.forRoot({ mode: 'capture', onError: appOnError }))
      .overrideProvider(Receipts)
      .useValue(fake)
      .compile();
    const http = await listen(moduleRef);
    await http.post('/kit/orders/o-4').expect(201);
    const probe = app!.get(TasksProbe);
    await probe.drain();
    expect(fake.sent).toEqual([]);
    const receipt = probe.find('send')!;
    expect(receipt.state).toBe('captured');
    expect(receipt.request).toEqual({ method: 'POST', url: '/kit/orders/o-4' });
    await probe.runAll();
    expect(fake.sent).toEqual(['fake:o-4']);
    expect(audited).toEqual(['o-4']);
  });
});

describe('the testing kit without HTTP', () => {
  it('refuses register() where no TasksModule is imported, naming the fix', async () => {
    await expect(Test.createTestingModule({ imports: [TasksTestingModule.register()] }).compile()).rejects.toThrow(
      testingMessages.noTasksModule(),
    );
  });

  it('refuses an unknown mode at once', () => {
    expect(() => TasksTestingModule.forRoot({ mode: 'skip' as 'run' })).toThrow(
      new TasksError(testingMessages.badMode('skip')),
    );
  });

  it('works in a plain testing module, outside any request (no request recorded)', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TasksTestingModule.forRoot({ mode: 'capture' })],
    }).compile();
    await moduleRef.init();
    const probe = moduleRef.get(TasksProbe);
    const { TasksService } = await import('../lib/index.js');
    moduleRef.get(TasksService).schedule(audit, 'plain');
    await probe.drain();
    expect(probe.find(audit)!.request).toBeUndefined();
    expect(audited).toEqual([]);
    await probe.runAll();
    expect(audited).toEqual(['plain']);
    audited.length = 0;
    await moduleRef.close();
  });
});
