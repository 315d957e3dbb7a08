import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  Answer200Filter,
  CacheHitInterceptor,
  FailuresController,
  HoldingGuard,
  PassingGuard,
  RejectingGuard,
  RejectingInterceptor,
  RejectingPipe,
  guardHold,
  slow,
} from './app/failures.controller.js';
import { abandonableGet } from './app/client.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Probe, gate } from './app/probe.js';
import { messages } from '../lib/core/tasks.messages.js';

const ran = (probe: Probe, prefix: string) => probe.events.filter((event) => event.startsWith(`${prefix}:`)).sort();

describe.each(adapters)('failed requests on %s', (adapter) => {
  let t: TestApp;
  let probe: Probe;

  beforeEach(async () => {
    t = await startApp(adapter, {
      controllers: [FailuresController],
      providers: [
        Probe,
        RejectingGuard,
        RejectingPipe,
        RejectingInterceptor,
        Answer200Filter,
        HoldingGuard,
        PassingGuard,
        CacheHitInterceptor,
      ],
    });
    probe = t.get(Probe);
  });
  afterEach(() => t.app.close());

  it('runs every task of a request whose handler completed', async () => {
    await t.http.get('/fail/ok').expect(200);
    await t.tasks.onIdle();
    expect(ran(probe, 'handler')).toEqual([
      'handler:afterResponse',
      'handler:afterResponse:always',
      'handler:afterRoute',
      'handler:afterRoute:always',
      'handler:immediate',
    ]);
  });

  it.each([
    ['the handler throws', '/fail/throws', 400, 'handler'],
    ['the handler rejects', '/fail/rejects', 500, 'handler'],
    ['the handler observable errors', '/fail/observable-error', 500, 'handler'],
    ['a guard rejects', '/fail/guard', 403, 'guard'],
    ['a pipe rejects', '/fail/pipe/1', 400, 'pipe'],
    ['an interceptor rejects', '/fail/interceptor', 400, 'interceptor'],
    ['an exception filter answers 200', '/fail/filtered', 200, 'handler'],
  ])(
    'when %s, runs immediate and always tasks only, and logs each dropped task',
    async (_case, path, status, prefix) => {
      await t.http.get(path).expect(status);
      await t.tasks.onIdle();
      expect(ran(probe, prefix)).toEqual([
        `${prefix}:afterResponse:always`,
        `${prefix}:afterRoute:always`,
        `${prefix}:immediate`,
      ]);
      expect(probe.has('handler:ran')).toBe(false);
      const debug = t.logger.tasks('debug').map((line) => line.message);
      expect(debug).toEqual(
        expect.arrayContaining([
          messages.droppedFailedRequest(`${prefix}:afterRoute`, 'afterRoute'),
          messages.droppedFailedRequest(`${prefix}:afterResponse`, 'afterResponse'),
        ]),
      );
    },
  );

  it('drops the tasks an exception filter schedules on a failed request unless always is set', async () => {
    await t.http.get('/fail/filtered').expect(200, { recovered: true });
    await t.tasks.onIdle();
    expect(ran(probe, 'filter')).toEqual([
      'filter:afterResponse:always',
      'filter:afterRoute:always',
      'filter:immediate',
    ]);
  });

  it('does not fail a request because the client went away', async () => {
    slow.gate = gate();
    const client = abandonableGet(`${t.url}/fail/slow`);
    await probe.waitFor('slow:entered');
    client.abandon();
    await probe.waitFor('slow:closed');
    slow.gate.open();
    await probe.waitFor('slow:returned');
    await t.tasks.onIdle();
    expect(ran(probe, 'slow')).toEqual([
      'slow:afterResponse',
      'slow:afterResponse:always',
      'slow:afterRoute',
      'slow:afterRoute:always',
      'slow:closed',
      'slow:entered',
      'slow:immediate',
      'slow:returned',
    ]);
  });

  it('fails a request whose client leaves during a guard, at that moment; a handler that runs anyway follows the normal rules', async () => {
    guardHold.gate = gate();
    const client = abandonableGet(`${t.url}/fail/guard-left`);
    await probe.waitFor('hold:entered');
    client.abandon();
    // Dropped when the response closes, while the guard is still holding the request.
    await t.logger.waitForLine(messages.droppedFailedRequest('guard:afterRoute', 'afterRoute'));
    await t.logger.waitForLine(messages.droppedFailedRequest('guard:afterResponse', 'afterResponse'));
    await probe.waitFor('guard:afterResponse:always');
    expect(probe.has('hold:released')).toBe(false);
    guardHold.gate.open();
    await probe.waitFor('hold:handler-returned');
    await t.tasks.onIdle();
    expect(ran(probe, 'guard')).toEqual(['guard:afterResponse:always', 'guard:afterRoute:always', 'guard:immediate']);
    // The handler completed and the response has closed: every task it scheduled runs.
    expect(ran(probe, 'handler')).toEqual([
      'handler:afterResponse',
      'handler:afterResponse:always',
      'handler:afterRoute',
      'handler:afterRoute:always',
      'handler:immediate',
    ]);
    expect(t.logger.tasks('debug').map((line) => line.message)).toEqual([
      messages.droppedFailedRequest('guard:afterRoute', 'afterRoute'),
      messages.droppedFailedRequest('guard:afterResponse', 'afterResponse'),
    ]);
  });

  it('fails a request answered by a cache-hit interceptor that never calls the handler', async () => {
    await t.http.get('/fail/cached').expect(200, { cached: true });
    await t.tasks.onIdle();
    expect(probe.has('handler:ran')).toBe(false);
    for (const prefix of ['guard', 'interceptor']) {
      expect(ran(probe, prefix)).toEqual([
        `${prefix}:afterResponse:always`,
        `${prefix}:afterRoute:always`,
        `${prefix}:immediate`,
      ]);
    }
    expect([...t.logger.tasks('debug').map((line) => line.message)].sort()).toEqual(
      [
        messages.droppedFailedRequest('guard:afterRoute', 'afterRoute'),
        messages.droppedFailedRequest('guard:afterResponse', 'afterResponse'),
        messages.droppedFailedRequest('interceptor:afterRoute', 'afterRoute'),
        messages.droppedFailedRequest('interceptor:afterResponse', 'afterResponse'),
      ].sort(),
    );
  });

  it('starts at once a task scheduled on afterRoute/afterResponse after that moment has passed', async () => {
    await t.http.get('/fail/late').expect(200);
    await probe.waitFor('late:afterRoute-from-immediate');
    await t.tasks.onIdle();
    expect(ran(probe, 'late')).toEqual([
      'late:afterResponse-from-afterResponse',
      'late:afterRoute-from-afterResponse',
      'late:afterRoute-from-immediate',
      'late:handler-returned',
    ]);
  });

  it('applies the failed-request rule to late scheduling too', async () => {
    await t.http.get('/fail/late-failed').expect(400);
    await t.tasks.onIdle();
    expect(ran(probe, 'late')).toEqual(['late:always']);
    expect(t.logger.tasks('debug').map((line) => line.message)).toContain(
      messages.droppedFailedRequest('late:dropped', 'afterRoute'),
    );
  });
});
