import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { messages } from '../lib/core/tasks.messages.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { OutcomesController, RetryOnceInterceptor, outcomes } from './app/outcomes.controller.js';
import { Probe, gate } from './app/probe.js';

const ran = (probe: Probe, prefix: string) => probe.events.filter((event) => event.startsWith(`${prefix}:`)).sort();
const all = (prefix: string) =>
  [
    `${prefix}:afterResponse`,
    `${prefix}:afterResponse:always`,
    `${prefix}:afterRoute`,
    `${prefix}:afterRoute:always`,
    `${prefix}:immediate`,
  ].sort();
const failed = (prefix: string) => [
  `${prefix}:afterResponse:always`,
  `${prefix}:afterRoute:always`,
  `${prefix}:immediate`,
];

describe.each(adapters)('how a handler ended, on %s', (adapter) => {
  let t: TestApp;
  let probe: Probe;

  beforeEach(async () => {
    outcomes.attempts = 0;
    outcomes.query = gate();
    outcomes.late = gate();
    t = await startApp(adapter, { controllers: [OutcomesController], providers: [Probe, RetryOnceInterceptor] });
    probe = t.get(Probe);
  });
  afterEach(() => t.app.close());

  it('a retry interceptor: the request completes with the retry; the failed attempt drops its own tasks', async () => {
    const response = await t.http.get('/outcomes/retry').expect(200);
    expect(response.body).toEqual({ ok: true, attempts: 2 });
    await t.tasks.onIdle();
    expect(ran(probe, 'attempt2')).toEqual(all('attempt2'));
    expect(ran(probe, 'attempt1')).toEqual(failed('attempt1'));
    expect(ran(probe, 'interceptor')).toEqual(all('interceptor'));
    expect(t.logger.tasks('debug').map((line) => line.message)).toEqual(
      expect.arrayContaining([
        messages.droppedFailedRequest('attempt1:afterRoute', 'afterRoute'),
        messages.droppedFailedRequest('attempt1:afterResponse', 'afterResponse'),
      ]),
    );
  });

  it('a thenable result is awaited: afterRoute waits for it, and its `then` is called once', async () => {
    const answered = t.http
      .get('/outcomes/thenable')
      .expect(200)
      .then((response) => response);
    await probe.waitFor('query:start');
    await new Promise((resolve) => setImmediate(resolve));
    expect(probe.has('handler:afterRoute')).toBe(false);
    outcomes.query.open();
    expect((await answered).body).toEqual({ rows: 1 });
    await t.tasks.onIdle();
    expect(ran(probe, 'handler')).toEqual(all('handler'));
    expect(probe.events.indexOf('query:end')).toBeLessThan(probe.events.indexOf('handler:afterRoute'));
    expect(outcomes.thenable!.thenCalls).toBe(1);
  });

  it('a thenable that rejects fails the request', async () => {
    await t.http.get('/outcomes/thenable-rejects').expect(500);
    await t.tasks.onIdle();
    expect(ran(probe, 'handler')).toEqual(failed('handler'));
  });

  it('an observable cut short by a timeout interceptor (408) did not complete', async () => {
    await t.http.get('/outcomes/observable-timeout').expect(408);
    await t.tasks.onIdle();
    expect(ran(probe, 'handler')).toEqual(failed('handler'));
  });

  it('a promise handler that resolves after a 408 was sent completed: its tasks run then', async () => {
    await t.http.get('/outcomes/promise-timeout').expect(408);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran(probe, 'handler')).toEqual(['handler:immediate']);
    outcomes.late.open();
    await t.tasks.onIdle();
    expect(ran(probe, 'handler')).toEqual([...all('handler'), 'handler:resolved'].sort());
  });

  it('an interceptor that throws after the handler completed does not fail the handler', async () => {
    await t.http.get('/outcomes/throw-after').expect(400);
    await t.tasks.onIdle();
    expect(ran(probe, 'handler')).toEqual(all('handler'));
  });
});
