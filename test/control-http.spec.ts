import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { TaskCounts, TaskErrorHandler, TasksModuleOptions } from '../lib/index.js';
import { TaskTimeoutError, currentTask } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import { CorrelationModule } from './app/context.controller.js';
import { ControlController, QueueFullFilter, control, resetControl } from './app/control.controller.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { PlanController, plan } from './app/plan.controller.js';
import { Probe } from './app/probe.js';

/** Counts with every field at zero but those given: a group's stats, compared whole. */
const counts = (some: Partial<TaskCounts>): TaskCounts => ({
  pending: 0,
  queued: 0,
  running: 0,
  retrying: 0,
  succeeded: 0,
  failed: 0,
  timedOut: 0,
  dropped: 0,
  aborted: 0,
  ...some,
});

/** The ids of the events `${prefix}:${id}:${suffix}`, in the order they were recorded. */
const idsOf = (probe: Probe, prefix: string, suffix: string) =>
  probe.events
    .filter((event) => event.startsWith(`${prefix}:`) && event.endsWith(`:${suffix}`))
    .map((event) => event.split(':')[1]);

const ids = (count: number) => Array.from({ length: count }, (_, index) => `r${index + 1}`);

describe.each(adapters)('task control over HTTP on %s', (adapter) => {
  let t: TestApp;
  let probe: Probe;
  const start = async (tasks?: TasksModuleOptions) => {
    resetControl();
    t = await startApp(adapter, {
      imports: [CorrelationModule],
      controllers: [ControlController, PlanController],
      providers: [Probe, QueueFullFilter],
      tasks,
    });
    probe = t.get(Probe);
  };
  const group = (name: string) => t.tasks.stats().groups[name];
  const track = (promise: Promise<void>) => {
    const state = { done: false };
    void promise.then(() => (state.done = true));
    return state;
  };
  afterEach(async () => {
    control.task.open();
    control.handler.open();
    await t?.app.close();
  });

  it('answers 503 naming the group and its counts when the queue is full, and runs every admitted task', async () => {
    await start();
    // One render runs and two wait (concurrency 1, queueLimit 2): of six concurrent requests, three are refused.
    const responses = await Promise.all(ids(6).map((id) => t.http.get(`/control/render/${id}`)));
    const admitted = responses.filter((response) => response.status === 200).map((response) => response.body.id);
    const refused = responses.filter((response) => response.status === 503);
    expect(admitted).toHaveLength(3);
    expect(refused).toHaveLength(3);
    for (const response of refused) {
      expect(response.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: messages.queueFull('render', 'reports', 2, 2, 0),
      });
    }
    expect(group('reports')).toEqual(counts({ running: 1, queued: 2 }));

    control.task.open();
    await t.tasks.onIdle();
    expect(idsOf(probe, 'render', 'end').sort()).toEqual([...admitted].sort());
    expect(group('reports')).toEqual(counts({ succeeded: 3 }));
    expect(t.tasks.stats()).toMatchObject(counts({ succeeded: 3 }));
    // The queue has room again.
    await t.http.get('/control/render/again').expect(200);
    await t.tasks.onIdle();
    expect(group('reports')).toEqual(counts({ succeeded: 4 }));
    expect(t.logger.tasks('error')).toEqual([]);
  });

  it('runs the afterResponse tasks of 30 concurrent requests after their responses, 3 at a time, first in first out', async () => {
    await start();
    const requests = ids(30);
    const responses = await Promise.all(requests.map((id) => t.http.get(`/control/deliver/${id}`)));
    expect(responses.map((response) => response.status)).toEqual(requests.map(() => 200));
    await Promise.all(requests.map((id) => probe.waitFor(`deliver:${id}:closed`)));
    // Every response has gone; three tasks hold their slots, the others wait in the queue.
    expect(group('deliver')).toEqual(counts({ running: 3, queued: 27 }));
    expect(t.tasks.stats()).toMatchObject({ running: 3, queued: 27, pending: 0 });

    control.task.open();
    await t.tasks.onIdle();
    expect(control.maxRunning).toBe(3);
    expect(idsOf(probe, 'deliver', 'start:sent=true')).toHaveLength(30);
    // Each task entered the queue when its response closed (the fixture's listener follows the library's).
    expect(idsOf(probe, 'deliver', 'start:sent=true')).toEqual(idsOf(probe, 'deliver', 'closed'));
    expect(group('deliver')).toEqual(counts({ succeeded: 30 }));
  });

  it('refuses with 503, at the call, a deferred task over queueLimit while earlier ones wait, and runs every admitted one', async () => {
    await start();
    // a runs (held), b waits for the slot, c and d wait for their held handlers: 3 waiting, the limit.
    await t.http.get('/control/import/a').expect(200);
    await probe.waitFor('import:a:start');
    await t.http.get('/control/import/b').expect(200);
    await probe.waitFor('import:b:closed');
    const held = ['c', 'd'].map(async (id) => t.http.get(`/control/import/${id}?hold=1`));
    await Promise.all(['c', 'd'].map((id) => probe.waitFor(`import:${id}:scheduled`)));
    expect(group('imports')).toEqual(counts({ running: 1, queued: 1, pending: 2 }));

    const over = await t.http.get('/control/import/e').expect(503);
    expect(over.body.message).toBe(messages.queueFull('import', 'imports', 3, 1, 2));
    // Refused before its response was sent: it was never counted, and c and d still wait.
    expect(group('imports')).toEqual(counts({ running: 1, queued: 1, pending: 2 }));

    control.handler.open();
    expect((await Promise.all(held)).map((response) => response.status)).toEqual([200, 200]);
    control.task.open();
    await t.tasks.onIdle();
    expect(idsOf(probe, 'import', 'start')).toEqual(['a', 'b', expect.any(String), expect.any(String)]);
    expect(idsOf(probe, 'import', 'start').sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(group('imports')).toEqual(counts({ succeeded: 4 }));
    // The refusal is logged at debug like every refusal; no task was dropped.
    expect(t.logger.tasks('debug').map((line) => line.message)).toEqual([
      messages.queueFull('import', 'imports', 3, 1, 2),
    ]);
    expect(t.logger.tasks('warn')).toEqual([]);
  });

  it.each([
    ['drops', undefined, 'dropped'],
    ['runs, with always: true,', '?always=1', 'succeeded'],
  ])(
    '%s the afterResponse task of a failed request that nothing was queued ahead of, and counts it',
    async (_verb, query, outcome) => {
      await start();
      await t.http.get(`/control/notify/n1${query ?? ''}`).expect(400);
      await t.tasks.onIdle();
      expect(group('notify')).toEqual(counts({ [outcome]: 1 }));
      // Settled, it no longer counts against queueLimit 1: the next request is not refused.
      await t.http.get(`/control/notify/n2${query ?? ''}`).expect(400);
      await t.tasks.onIdle();
      expect(group('notify')).toEqual(counts({ [outcome]: 2 }));
      const debug = t.logger.tasks('debug').map((line) => line.message);
      if (query === undefined) {
        expect(probe.events).toEqual([]);
        expect(debug).toEqual([
          messages.droppedFailedRequest('notify', 'afterResponse'),
          messages.droppedFailedRequest('notify', 'afterResponse'),
        ]);
      } else {
        expect(probe.events).toEqual(['notify:n1:ran', 'notify:n2:ran']);
        expect(debug).toEqual([]);
      }
    },
  );

  it('retries a timed-out afterResponse task in its request context, also when an attempt starts from the queue', async () => {
    await start();
    // The group's only slot is taken, so both tasks queue, A first; each attempt 1 hangs past its timeout.
    await t.http.get('/control/occupy/sync').expect(200);
    await probe.waitFor('occupy-sync:start');
    for (const id of ['A', 'B']) {
      await t.http.get(`/control/sync/${id}`).set('x-correlation-id', `req-${id}`).expect(200);
      await probe.waitFor(`sync:${id}:closed`);
    }
    expect(group('sync')).toEqual(counts({ running: 1, queued: 2 }));

    control.slot.open();
    await probe.waitFor('sync:B:attempt2:req-B');
    await t.tasks.onIdle();
    // A's timeout frees the slot for B's attempt 1; A's retry waits in the queue until B's attempt 1 times out.
    expect(probe.events.filter((event) => event.startsWith('sync:') && !event.endsWith(':closed'))).toEqual([
      'sync:A:attempt1:req-A',
      'sync:A:timedOut=true',
      'sync:B:attempt1:req-B',
      'sync:B:timedOut=true',
      'sync:A:attempt2:req-A',
      'sync:B:attempt2:req-B',
    ]);
    const timeoutError = new TaskTimeoutError('sync', 50, 1);
    expect(t.logger.tasks('warn').map((line) => line.message)).toEqual([
      messages.retrying('sync', 1, 3, 10, timeoutError),
      messages.stillRunningAfterTimeout('sync', 50),
      messages.retrying('sync', 1, 3, 10, timeoutError),
      messages.stillRunningAfterTimeout('sync', 50),
    ]);
    expect(group('sync')).toEqual(counts({ succeeded: 3 }));

    // The first attempts end late: their results change nothing.
    control.task.open();
    await Promise.all(['A', 'B'].map((id) => probe.waitFor(`sync:${id}:attempt1:end`)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(group('sync')).toEqual(counts({ succeeded: 3 }));
    expect(t.logger.tasks('error')).toEqual([]);
  });

  describe('shutdown', () => {
    const onError = jest.fn<TaskErrorHandler>();
    afterEach(() => {
      onError.mockReset();
    });

    it('drops queued unshielded tasks at close() and runs the queued shielded ones, one at a time, before it resolves', async () => {
      await start();
      plan.run = (tasks) => {
        const drain = tasks.afterResponse.task({ group: 'drain', concurrency: 1, onError });
        drain.task({ name: 'blocker', shield: true }).schedule(async () => {
          probe.record('blocker:start');
          await control.task.promise;
          probe.record('blocker:end');
        });
        drain.task({ name: 'unshielded' }).schedule(() => probe.record('unshielded:start'));
        for (const name of ['shielded-1', 'shielded-2']) {
          drain.task({ name, shield: true }).schedule(async () => {
            probe.record(`${name}:start`);
            await new Promise((resolve) => setImmediate(resolve));
            probe.record(`${name}:end`);
          });
        }
      };
      await t.http.get('/plan').expect(200);
      await probe.waitFor('blocker:start');
      expect(group('drain')).toEqual(counts({ running: 1, queued: 3 }));

      const closing = track(t.app.close());
      await t.logger.waitForLine(messages.droppedShutdown('unshielded'));
      expect(t.logger.tasks('debug').map((line) => line.message)).toEqual([messages.droppedShutdown('unshielded')]);
      expect(t.tasks.stats()).toMatchObject({ shuttingDown: true });
      expect(group('drain')).toEqual(counts({ running: 1, queued: 2, dropped: 1 }));
      expect(closing.done).toBe(false);

      control.task.open();
      await t.app.close();
      expect(closing.done).toBe(true);
      expect(probe.events).toEqual([
        'blocker:start',
        'blocker:end',
        'shielded-1:start',
        'shielded-1:end',
        'shielded-2:start',
        'shielded-2:end',
      ]);
      expect(group('drain')).toEqual(counts({ succeeded: 3, dropped: 1 }));
      expect(onError).not.toHaveBeenCalled();
    });

    /** A task whose first attempt throws. */
    const flaky = (name: string) => () => {
      const attempt = currentTask()!.attempt;
      probe.record(`${name}:attempt${attempt}`);
      if (attempt === 1) throw new Error('flaky');
    };
    const retrying = (name: string, delay: number) => messages.retrying(name, 1, 3, delay, new Error('flaky'));

    it('drops an unshielded task waiting for its retry at close(), and retries a shielded one before close() resolves', async () => {
      await start();
      plan.run = (tasks) => {
        tasks.afterResponse
          .task({ name: 'unshielded', retry: { attempts: 3, delay: 20_000, backoff: 'fixed' }, onError })
          .schedule(flaky('unshielded'));
        tasks.afterResponse
          .task({ name: 'shielded', shield: true, retry: { attempts: 3, delay: 200, backoff: 'fixed' }, onError })
          .schedule(flaky('shielded'));
      };
      await t.http.get('/plan').expect(200);
      await t.logger.waitForLine(retrying('unshielded', 20_000));
      await t.logger.waitForLine(retrying('shielded', 200));

      const closing = track(t.app.close());
      await t.logger.waitForLine(messages.droppedRetrying('unshielded', 1));
      expect(group('unshielded')).toEqual(counts({ dropped: 1 }));
      expect(group('shielded')).toEqual(counts({ retrying: 1 }));
      expect(closing.done).toBe(false);

      await t.app.close();
      expect(probe.events.sort()).toEqual(['shielded:attempt1', 'shielded:attempt2', 'unshielded:attempt1']);
      expect(group('shielded')).toEqual(counts({ succeeded: 1 }));
      expect(onError).not.toHaveBeenCalled();
    });

    it('drops a shielded task still waiting for its retry at shutdownTimeout, and names it', async () => {
      await start({ shutdownTimeout: 100 });
      plan.run = (tasks) => {
        tasks.afterResponse
          .task({ name: 'late', shield: true, retry: { attempts: 3, delay: 20_000, backoff: 'fixed' } })
          .schedule(flaky('late'));
      };
      await t.http.get('/plan').expect(200);
      await t.logger.waitForLine(retrying('late', 20_000));

      await t.app.close();
      expect(t.logger.tasks('warn').map((line) => line.message)).toEqual([
        retrying('late', 20_000),
        messages.shutdownDeadline(100, ['late']),
      ]);
      expect(probe.events).toEqual(['late:attempt1']);
      expect(group('late')).toEqual(counts({ dropped: 1 }));
      await t.tasks.onIdle();
    });
  });
});
