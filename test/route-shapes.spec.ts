import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Probe } from './app/probe.js';
import { PerRequest, ScopedController, ShapesController } from './app/scoped.controller.js';

describe.each(adapters)('route handler shapes on %s', (adapter) => {
  let t: TestApp;
  let probe: Probe;

  beforeEach(async () => {
    t = await startApp(adapter, { controllers: [ScopedController, ShapesController], providers: [Probe, PerRequest] });
    probe = t.get(Probe);
  });
  afterEach(() => t.app.close());

  it('runs deferred tasks of a request-scoped controller', async () => {
    await t.http.get('/scoped').expect(200, { ok: true });
    await t.http.get('/scoped').expect(200, { ok: true });
    await t.tasks.onIdle();
    expect(probe.events.sort()).toEqual([
      'scoped:afterResponse',
      'scoped:afterResponse',
      'scoped:afterRoute',
      'scoped:afterRoute',
    ]);
  });

  it.each(['observable', 'promise-of-observable'])('runs deferred tasks of a handler returning a %s', async (shape) => {
    await t.http.get(`/shapes/${shape}`).expect(200, { shape });
    await t.tasks.onIdle();
    expect(probe.events).toEqual([`${shape}:afterRoute`, `${shape}:afterResponse`]);
  });

  it('settles the request when the outer handler returns, not when a handler it calls returns', async () => {
    await t.http.get('/shapes/nested').expect(200, { shape: 'nested' });
    await t.tasks.onIdle();
    expect(probe.events).toEqual(['nested:outer-returns', 'nested:afterRoute', 'nested:afterResponse']);
  });
});
