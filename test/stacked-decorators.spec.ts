import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Probe } from './app/probe.js';
import { ScopedTracedService, TracedController, TracedService, spans } from './app/traced.js';

describe.each(adapters)('@Task() below a decorator that replaces the method, on %s', (adapter) => {
  let t: TestApp;
  beforeEach(async () => {
    spans.length = 0;
    t = await startApp(adapter, {
      controllers: [TracedController],
      providers: [Probe, TracedService, ScopedTracedService],
    });
  });
  afterEach(() => t.app.close());

  it('keeps the @Task() config and `this` with schedule() and call(), on singleton and request-scoped providers', async () => {
    const response = await t.http.get('/traced/o-1').expect(200);
    await t.tasks.onIdle();
    expect(response.body).toEqual([
      { name: 'traced', config: { name: 'traced', shield: true } },
      { name: 'traced', config: { name: 'traced', shield: true } },
      { name: 'traced', config: { name: 'traced', shield: true } },
      { name: 'scoped_traced', config: { name: 'scoped_traced', always: true } },
    ]);
    expect(t.get(Probe).events.sort()).toEqual([
      'scoped_traced:o-1-scoped',
      'traced:o-1-after-response',
      'traced:o-1-call',
      'traced:o-1-schedule',
    ]);
    expect(spans).toEqual(['record', 'record', 'record', 'record']);
    expect(t.logger.tasks('error')).toEqual([]);
  });
});
