import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { TasksError, TasksModule, TasksService } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import {
  BodyController,
  ContextController,
  CorrelationModule,
  SchedulingFilter,
  SchedulingGuard,
  SchedulingInterceptor,
  SchedulingPipe,
  StartupTasks,
  hold,
} from './app/context.controller.js';
import { abandonableGet } from './app/client.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Probe, gate } from './app/probe.js';

describe.each(adapters)('request context on %s', (adapter) => {
  let t: TestApp;
  let probe: Probe;

  beforeEach(async () => {
    t = await startApp(adapter, {
      imports: [CorrelationModule],
      controllers: [ContextController, BodyController],
      providers: [Probe, SchedulingGuard, SchedulingInterceptor, SchedulingPipe, SchedulingFilter, StartupTasks],
    });
    probe = t.get(Probe);
  });
  afterEach(() => t.app.close());

  it('schedules from guards, interceptors, pipes and the handler of one request', async () => {
    await t.http.get('/context/everywhere/7').expect(200);
    await t.tasks.onIdle();
    for (const where of ['guard', 'interceptor', 'pipe', 'handler']) {
      for (const mode of ['immediate', 'afterRoute', 'afterResponse'])
        expect(probe.events).toContain(`${where}:${mode}`);
    }
    expect(probe.events.indexOf('guard:afterRoute')).toBeLessThan(probe.events.indexOf('guard:afterResponse'));
  });

  it('schedules from an exception filter', async () => {
    await t.http.get('/context/filter').expect(418);
    await t.tasks.onIdle();
    expect(probe.events.sort()).toEqual(['filter:afterResponse', 'filter:immediate', 'startup:ran']);
  });

  it('runs an immediate task scheduled outside a request (onModuleInit)', async () => {
    await t.tasks.onIdle();
    expect(probe.events).toEqual(['startup:ran']);
  });

  it('refuses afterRoute and afterResponse outside a request with a TasksError naming the fix', () => {
    expect(() => t.tasks.afterRoute.schedule(() => undefined)).toThrow(
      new TasksError(messages.outsideRequest('afterRoute', 'anonymous task', 'schedule')),
    );
    expect(() => t.tasks.afterResponse.task({ name: 'x' }).schedule(() => undefined)).toThrow(
      new TasksError(messages.outsideRequest('afterResponse', 'x', 'schedule')),
    );
  });

  it('runs each task in the async context where it was scheduled, in every mode', async () => {
    await t.http.get('/context/correlation').set('x-correlation-id', 'req-42').expect(200);
    await t.tasks.onIdle();
    expect(probe.events.filter((event) => event !== 'startup:ran').sort()).toEqual([
      'afterResponse:req-42',
      'afterRoute:req-42',
      'immediate:req-42',
    ]);
  });

  it('keeps the async context in afterResponse tasks of a request whose client went away', async () => {
    hold.gate = gate();
    const client = abandonableGet(`${t.url}/context/correlation-abandoned`, { 'x-correlation-id': 'gone-1' });
    await probe.waitFor('abandoned:entered');
    client.abandon();
    await probe.waitFor('abandoned:closed');
    hold.gate.open();
    await probe.waitFor('abandoned:afterResponse:gone-1');
  });

  it('finds the request in a POST handler whose JSON body was read after the store opened', async () => {
    const big = 'x'.repeat(60_000);
    await t.http
      .post('/context/body')
      .set('x-correlation-id', 'post-1')
      .send({ id: 'b-1', big })
      .expect(201, { id: 'b-1' });
    await t.tasks.onIdle();
    expect(probe.events).toEqual(
      expect.arrayContaining(['body:afterRoute:b-1:post-1', 'body:afterResponse:b-1:post-1']),
    );
  });

  it('gives currentTask() inside a task, and undefined outside', async () => {
    await t.http.get('/context/current-task').expect(200);
    await t.tasks.onIdle();
    expect(probe.events).toEqual(expect.arrayContaining(['outside:undefined', 'inside:true']));
  });

  it('counts deferred tasks still waiting for their request in onIdle()', async () => {
    hold.gate = gate();
    const response = t.http.get('/context/waiting').then((res) => res.status);
    await probe.waitFor('waiting:entered');
    let idle = false;
    const idlePromise = t.tasks.onIdle().then(() => (idle = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(idle).toBe(false);
    hold.gate.open();
    expect(await response).toBe(200);
    await idlePromise;
    expect(probe.events).toContain('waiting:afterResponse');
  });

  it('resolves onIdle() at once when nothing is pending', async () => {
    await t.tasks.onIdle();
    const order: string[] = [];
    const idle = t.tasks.onIdle().then(() => order.push('idle'));
    const tick = new Promise((resolve) => setImmediate(resolve)).then(() => order.push('tick'));
    await Promise.all([idle, tick]);
    expect(order).toEqual(['idle', 'tick']);
  });
});

describe('without TasksModule', () => {
  it('fails to inject TasksService with a message naming it', async () => {
    const compile = Test.createTestingModule({ providers: [StartupTasks, Probe] }).compile();
    await expect(compile).rejects.toThrow(/TasksService/);
  });

  it('works once TasksModule.forRoot() is imported', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TasksModule.forRoot()],
      providers: [StartupTasks, Probe],
    }).compile();
    await moduleRef.init();
    await moduleRef.get(TasksService).onIdle();
    expect(moduleRef.get(Probe).events).toEqual(['startup:ran']);
    await moduleRef.close();
  });
});
