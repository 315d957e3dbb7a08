import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { invokeTracked } from '../lib/contexts/handler-outcome.js';
import { RequestTasks, requestStorage, type RawResponse } from '../lib/contexts/request-tasks.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Probe } from './app/probe.js';
import { TimingController, held } from './app/timing.controller.js';
import { gate } from './app/probe.js';

describe.each(adapters)('timing modes on %s', (adapter) => {
  let t: TestApp;
  let probe: Probe;

  beforeEach(async () => {
    t = await startApp(adapter, { controllers: [TimingController], providers: [Probe] });
    probe = t.get(Probe);
  });
  afterEach(() => t.app.close());

  it('runs one task per mode and answers 200 (smoke)', async () => {
    await t.http.get('/timing/async').expect(200, { ok: true });
    await t.tasks.onIdle();
    expect(probe.events).toEqual(expect.arrayContaining(['start:A', 'start:B', 'start:C']));
  });

  it('starts immediate, then afterRoute, then afterResponse, each in scheduling order, for a synchronous handler', async () => {
    await t.http.get('/timing/sync').expect(200);
    await t.tasks.onIdle();
    expect(probe.events).toEqual([
      'handler:return',
      'start:A1',
      'start:A2',
      'start:B1',
      'start:B2',
      'start:C1',
      'start:C2',
    ]);
  });

  it('starts afterRoute tasks only once the async handler has returned', async () => {
    await t.http.get('/timing/async').expect(200);
    await t.tasks.onIdle();
    expect(probe.events.indexOf('start:A')).toBeLessThan(probe.events.indexOf('handler:return'));
    expect(probe.events.indexOf('handler:return')).toBeLessThan(probe.events.indexOf('start:B'));
    expect(probe.events.indexOf('start:B')).toBeLessThan(probe.events.indexOf('start:C'));
  });

  it('never starts an immediate task inside the schedule() call', async () => {
    await t.http.get('/timing/not-in-schedule-call').expect(200);
    await t.tasks.onIdle();
    expect(probe.events).toEqual(['ran:later', 'immediate:ran']);
  });

  it('has started an immediate task while the handler is still awaiting', async () => {
    await t.http.get('/timing/immediate-while-awaiting').expect(200, { started: true });
    expect(probe.events).toEqual(['task:started', 'handler:saw-task']);
  });

  it('runs sync and async task functions with their arguments', async () => {
    await t.http.get('/timing/sync-and-async').expect(200);
    await t.tasks.onIdle();
    expect(probe.events.sort()).toEqual(['async:two', 'sync:1']);
  });

  it('answers without waiting for any task', async () => {
    held.gate = gate();
    await t.http.get('/timing/held').expect(200, { ok: true });
    await probe.waitFor('held:C:start');
    expect(probe.events.filter((event) => event.endsWith(':end'))).toEqual([]);
    held.gate.open();
    await t.tasks.onIdle();
    expect(probe.events.filter((event) => event.endsWith(':end')).sort()).toEqual([
      'held:A:end',
      'held:B:end',
      'held:C:end',
    ]);
  });

  it.each(['json', 'file', 'sse', 'manual'])(
    'starts afterResponse tasks of a %s route after the response has finished',
    async (kind) => {
      const response = await t.http.get(`/timing/${kind}`).expect(200);
      await t.tasks.onIdle();
      expect(probe.events).toEqual([`${kind}:afterRoute`, `${kind}:afterResponse:finished=true`]);
      if (kind === 'file') expect(response.body.toString()).toBe('chunk-1,chunk-2,chunk-3');
      if (kind === 'sse') expect(response.text).toContain('data: {"index":2}');
      if (kind === 'manual') expect(response.text).toBe('manual body');
    },
  );
});

/**
 * A response's `close` (and a handler's completion) starts its request's deferred tasks at once,
 * with no microtask between; unless a task scheduled before them still waits for its microtask,
 * so that start order stays scheduling order. A simulated response closes here while an
 * immediate task still waits, which no socket can time on purpose.
 */
describe('deferred tasks started by a response close or a handler completion', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp('express', { controllers: [] });
  });
  afterEach(() => t.app.close());

  /** Runs `handler` as a tracked, synchronous route handler of a simulated request; returns its response. */
  const request = (handler: () => void) => {
    const response = Object.assign(new EventEmitter(), { closed: false });
    const scope = new RequestTasks(response as unknown as RawResponse);
    requestStorage.run(scope, () => {
      scope.handlerStarted(); // as the route tracker does
      invokeTracked(scope, handler, undefined, []);
    });
    return {
      close: () => {
        response.closed = true;
        response.emit('close');
      },
    };
  };

  it('starts them within the close event, in the context where they were scheduled', async () => {
    const events: string[] = [];
    const context = new AsyncLocalStorage<string>();
    const { close } = context.run('request 1', () =>
      request(() => {
        t.tasks.afterResponse.schedule(() => void events.push(`C1 in ${context.getStore()}`));
        t.tasks.afterResponse.schedule(() => void events.push(`C2 in ${context.getStore()}`));
      }),
    );
    await new Promise((resolve) => setImmediate(resolve)); // one turn: every microtask has run
    expect(events).toEqual([]); // nothing before the close
    expect(t.tasks.stats().pending).toBe(2);
    close();
    expect(events).toEqual(['C1 in request 1', 'C2 in request 1']);
    await t.tasks.onIdle();
    expect(t.tasks.stats().succeeded).toBe(2);
  });

  it('starts afterRoute tasks as the handler completes, without a microtask, when nothing else waits', async () => {
    const events: string[] = [];
    request(() => {
      t.tasks.afterRoute.schedule(() => void events.push('B1'));
      t.tasks.afterRoute.schedule(() => void events.push('B2'));
      events.push('handler:return');
    });
    expect(events).toEqual(['handler:return', 'B1', 'B2']);
    await t.tasks.onIdle();
    expect(t.tasks.stats().succeeded).toBe(2);
  });

  it.each([
    ['an afterResponse task', 'afterResponse'],
    ['an immediate task', 'immediate'],
  ] as const)('starts the next task of the close before %s the first one schedules', async (_what, mode) => {
    const events: string[] = [];
    const { close } = request(() => {
      t.tasks.afterResponse.schedule(() => {
        events.push('A');
        (mode === 'immediate' ? t.tasks : t.tasks.afterResponse).schedule(() => void events.push('Y'));
      });
      t.tasks.afterResponse.schedule(() => void events.push('B'));
    });
    close();
    await t.tasks.onIdle();
    expect(events).toEqual(['A', 'B', 'Y']);
  });

  it('starts the next afterRoute task before an afterRoute task the first one schedules late', async () => {
    const events: string[] = [];
    request(() => {
      t.tasks.afterRoute.schedule(() => {
        events.push('A');
        t.tasks.afterRoute.schedule(() => void events.push('Y'));
      });
      t.tasks.afterRoute.schedule(() => void events.push('B'));
    });
    await t.tasks.onIdle();
    expect(events).toEqual(['A', 'B', 'Y']);
  });

  it('starts the tasks that wait for a microtask in scheduling order, each in its own context, burst after burst', async () => {
    const context = new AsyncLocalStorage<string>();
    const events: string[] = [];
    const record = (label: string) => () => void events.push(`${label} in ${context.getStore()}`);
    const expected: string[] = [];
    for (const burst of [1, 2]) {
      events.length = 0;
      expected.length = 0;
      // A close whose first task schedules an immediate one (it must not hold back the second)...
      const { close } = context.run(`request ${burst}`, () =>
        request(() => {
          t.tasks.afterResponse.schedule(() => {
            events.push(`A in ${context.getStore()}`);
            t.tasks.schedule(record('Y'));
          });
          t.tasks.afterResponse.schedule(record('B'));
        }),
      );
      close();
      expected.push(`A in request ${burst}`, `B in request ${burst}`, `Y in request ${burst}`);
      // ...then more waiting tasks than a queue keeps slots for, each scheduled in a context of its own,
      // deferred ones among them: their request closes while the immediate ones before them wait.
      for (let i = 0; i < 1500; i++) {
        const label = `${burst}.${i}`;
        if (i % 3 !== 2) {
          context.run(label, () => t.tasks.schedule(record(`I${label}`)));
          expected.push(`I${label} in ${label}`);
          continue;
        }
        context.run(label, () => request(() => void t.tasks.afterResponse.schedule(record(`D${label}`)))).close();
        expected.push(`D${label} in ${label}`);
      }
      await t.tasks.onIdle();
      expect(events).toEqual(expected);
    }
    expect(t.tasks.stats().succeeded).toBe(2 * 1503);
  });

  it('keeps scheduling order when the response closes before an immediate task has started', async () => {
    const events: string[] = [];
    const { close } = request(() => {
      t.tasks.schedule(() => void events.push('A'));
      t.tasks.afterRoute.schedule(() => void events.push('B'));
      t.tasks.afterResponse.schedule(() => void events.push('C'));
    });
    close(); // before any microtask: A and B still wait for theirs
    await t.tasks.onIdle();
    expect(events).toEqual(['A', 'B', 'C']);
  });
});
