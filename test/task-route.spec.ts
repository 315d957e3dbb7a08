import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Probe } from './app/probe.js';
import { TaskRouteController } from './app/task-route.controller.js';

describe.each(adapters)('a route handler that is also a @Task() method, on %s', (adapter) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp(adapter, { controllers: [TaskRouteController], providers: [Probe] });
  });
  afterEach(() => t.app.close());

  it('is still a route, and as a task keeps its @Task() config and its `this`', async () => {
    expect((await t.http.get('/task-route/report/r-1').expect(200)).body).toEqual({ id: 'r-1' });
    await t.http.get('/task-route/schedule/r-2').expect(200);
    await t.tasks.onIdle();
    expect(t.get(Probe).events).toEqual([
      'report:r-1:this=controller:task=undefined:shield=undefined',
      'report:r-2:this=controller:task=report:shield=true',
    ]);
  });
});
