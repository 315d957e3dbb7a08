import { afterEach, describe, expect, it } from '@jest/globals';
import { APP_FILTER } from '@nestjs/core';
import { TasksService } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Probe } from './app/probe.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LingeringController, PoolModule, SchedulingFilter, StoreController } from './app/store.fixtures.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe.each(adapters)('the request store on %s', (adapter) => {
  let t: TestApp;
  afterEach(() => t.app.close());

  const start = () =>
    startApp(adapter, {
      controllers: [StoreController],
      imports: [PoolModule],
      providers: [Probe, { provide: APP_FILTER, useClass: SchedulingFilter }],
    });

  it('says the async context was lost, and how to fix it, when a middleware lost it', async () => {
    t = await start();
    const response = await t.http.get('/store/lost').expect(200);
    expect(response.body).toEqual({ error: messages.contextLost('afterResponse', 'after-pool', 'schedule') });
  });

  it('works once the middleware binds next() as the message says', async () => {
    t = await start();
    const response = await t.http.get('/store/bound').expect(200);
    expect(response.body).toEqual({ scheduled: true });
    await t.tasks.onIdle();
    expect(t.get(Probe).events).toEqual(['after-pool:ran']);
  });

  it('opens before middleware that main.ts mounts with app.use()', async () => {
    t = await startApp(adapter, {
      controllers: [StoreController],
      imports: [PoolModule],
      providers: [Probe],
      beforeListen: (app) =>
        app.use((_request: unknown, _response: unknown, next: () => void) => {
          const tasks = app.get(TasksService);
          const probe = app.get(Probe);
          tasks.afterResponse.task({ name: 'from-main' }).schedule(() => probe.record('from-main:ran'));
          next();
        }),
    });
    await t.http.get('/store/bound').expect(200);
    await t.tasks.onIdle();
    expect(t.get(Probe).events.sort()).toEqual(['after-pool:ran', 'from-main:ran']);
  });

  it.each([
    ['a malformed JSON body', '{"broken', 400],
    ['a body over the parser limit', JSON.stringify({ big: 'x'.repeat(2_000_000) }), 413],
  ])('opens before the body parser: %s answered by a filter that schedules a task', async (_case, body, status) => {
    t = await start();
    const response = await t.http.post('/store/json').set('content-type', 'application/json').send(body);
    expect(response.status).toBe(status);
    expect(JSON.parse(response.text)).toEqual({ status, scheduled: 'yes' });
    await t.tasks.onIdle();
    expect(t.get(Probe).events).toEqual([`filter:${status}:ran`]);
  });

  it('lets go of a response once it has closed, though a timer made in its request lives on', async () => {
    t = await startApp(adapter, { controllers: [LingeringController] });
    const lingering = t.get(LingeringController);
    await t.http.get('/store/lingering').expect(200);
    // The store lets go of closed responses as later requests come in.
    for (let i = 0; i < 4; i++) await t.http.get('/store/plain').expect(200);
    await new Promise((resolve) => setImmediate(resolve)); // WeakRefs hold their target until the job ends
    gc();
    expect(lingering.responses).toHaveLength(1);
    expect(lingering.responses[0]?.deref()).toBeUndefined();
  });
});
