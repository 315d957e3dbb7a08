import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { TasksModule, currentTask, type TaskErrorHandler, type TasksModuleOptions } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import { TasksShutdown } from '../lib/module/tasks.shutdown.js';
import { Resource, resourceModule, type ClosingHook } from './app/closing-resource.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { PlanController, plan } from './app/plan.controller.js';
import { Probe, gate } from './app/probe.js';
import { AppShutdownHookModule, onShutdown } from './app/shutdown-hook.js';

/** Resolves when `signal` aborts. */
const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

describe.each(adapters)('shutdown on %s', (adapter) => {
  let t: TestApp;
  let probe: Probe;
  const start = async (tasks?: TasksModuleOptions) => {
    t = await startApp(adapter, { controllers: [PlanController], providers: [Probe], tasks });
    probe = t.get(Probe);
  };
  const track = (promise: Promise<void>) => {
    const state = { done: false };
    void promise.then(() => (state.done = true));
    return state;
  };

  it('aborts running unshielded tasks without awaiting them, and awaits shielded ones', async () => {
    await start();
    const release = gate();
    plan.run = (tasks) => {
      tasks.task({ name: 'unshielded' }).schedule(async () => {
        probe.record('unshielded:start');
        await aborted(currentTask()!.signal);
        probe.record('unshielded:aborted');
        await new Promise(() => undefined); // never settles: close must not wait for it
      });
      tasks.afterResponse.task({ name: 'shielded', shield: true }).schedule(async () => {
        probe.record('shielded:start');
        await release.promise;
        probe.record(`shielded:end:aborted=${currentTask()!.signal.aborted}`);
      });
    };
    await t.http.get('/plan').expect(200);
    await probe.waitFor('shielded:start');
    const closing = track(t.app.close());
    await probe.waitFor('unshielded:aborted');
    expect(closing.done).toBe(false);
    release.open();
    await probe.waitFor('shielded:end:aborted=false');
    await t.app.close();
    expect(closing.done).toBe(true);
  });

  it('aborts and names shielded tasks still running at shutdownTimeout', async () => {
    await start({ shutdownTimeout: 100 });
    let signal: AbortSignal | undefined;
    plan.run = (tasks) => {
      tasks.task({ name: 'stuck', shield: true }).schedule(async () => {
        signal = currentTask()!.signal;
        probe.record('stuck:start');
        await new Promise(() => undefined);
      });
    };
    await t.http.get('/plan').expect(200);
    await probe.waitFor('stuck:start');
    const started = Date.now();
    await t.app.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(signal!.aborted).toBe(true);
    expect(t.logger.tasks('warn').map((line) => line.message)).toEqual([messages.shutdownDeadline(100, ['stuck'])]);
  });

  it('refuses new unshielded tasks once shutdown has begun, and runs and awaits shielded ones', async () => {
    await start({ shutdownTimeout: Infinity });
    const release = gate();
    plan.run = (tasks) => {
      tasks.task({ name: 'drainer', shield: true }).schedule(async () => {
        probe.record('drainer:start');
        await release.promise;
        tasks.task({ name: 'late-unshielded' }).schedule(() => probe.record('late-unshielded:ran'));
        tasks.task({ name: 'late-shielded', shield: true }).schedule(async () => {
          await new Promise((resolve) => setImmediate(resolve));
          probe.record('late-shielded:ran');
        });
      });
    };
    await t.http.get('/plan').expect(200);
    await probe.waitFor('drainer:start');
    const closing = t.app.close();
    await t.logger.waitForLine(messages.shutdownWaiting(1, Infinity));
    release.open();
    await closing;
    expect(probe.has('late-shielded:ran')).toBe(true);
    expect(probe.has('late-unshielded:ran')).toBe(false);
    expect(t.logger.tasks('debug').map((line) => line.message)).toContain(messages.droppedShutdown('late-unshielded'));
  });

  it('refuses a shielded task scheduled after the drain ended, at the call, and drops an unshielded one', async () => {
    t = await startApp(adapter, {
      controllers: [PlanController],
      providers: [Probe],
      tasksModule: [AppShutdownHookModule, TasksModule.forRoot({ shutdownTimeout: Infinity })],
    });
    probe = t.get(Probe);
    const release = gate();
    plan.run = (tasks) => {
      tasks.task({ name: 'drainer', shield: true }).schedule(async () => {
        probe.record('drainer:start');
        await release.promise;
        probe.record('drainer:end');
      });
    };
    // The app's own shutdown hook, in a global module imported before TasksModule, runs after the drain.
    onShutdown.run = (tasks) => {
      probe.record(`hook:drainer-ended=${probe.has('drainer:end')}`);
      tasks.task({ name: 'after-drain-unshielded' }).schedule(() => probe.record('after-drain-unshielded:ran'));
      try {
        tasks
          .task({ name: 'after-drain-shielded', shield: true })
          .schedule(() => probe.record('after-drain-shielded:ran'));
      } catch (error) {
        probe.record(`refused:${(error as Error).message}`);
      }
    };
    await t.http.get('/plan').expect(200);
    await probe.waitFor('drainer:start');
    const closing = t.app.close();
    await t.logger.waitForLine(messages.shutdownWaiting(1, Infinity));
    release.open();
    await closing;
    await t.tasks.onIdle();
    expect(probe.events).toContain('hook:drainer-ended=true');
    expect(probe.has('after-drain-unshielded:ran')).toBe(false);
    expect(t.logger.tasks('debug').map((line) => line.message)).toContain(
      messages.droppedShutdown('after-drain-unshielded'),
    );
    expect(probe.events).toContain(`refused:${messages.shieldedAfterShutdown('after-drain-shielded')}`);
    expect(probe.has('after-drain-shielded:ran')).toBe(false);
  });

  it('refuses a shielded task scheduled after close() resolved, at the call', async () => {
    await start();
    const closed = gate();
    plan.run = (tasks) => {
      // An unshielded task that outlives close(): aborted, not awaited, it then schedules more work.
      tasks.task({ name: 'outliver' }).schedule(async () => {
        await aborted(currentTask()!.signal);
        await closed.promise;
        tasks.task({ name: 'after-close-unshielded' }).schedule(() => probe.record('after-close-unshielded:ran'));
        try {
          tasks.task({ name: 'after-close-shielded', shield: true }).schedule(() => probe.record('shielded:ran'));
        } catch (error) {
          probe.record(`refused:${(error as Error).message}`);
        }
      });
    };
    await t.http.get('/plan').expect(200);
    await t.app.close();
    closed.open();
    await t.tasks.onIdle();
    expect(probe.events).toEqual([`refused:${messages.shieldedAfterShutdown('after-close-shielded')}`]);
    expect(t.logger.tasks('debug').map((line) => line.message)).toContain(
      messages.droppedShutdown('after-close-unshielded'),
    );
  });

  it('closes at once when no task is running, without waiting or saying it waits', async () => {
    // A deadline far above the bound below: a close that waited for it could not pass.
    const shutdownTimeout = 15_000;
    await start({ shutdownTimeout });
    plan.run = (tasks) => {
      tasks.schedule(() => undefined);
      tasks.task({ name: 'finished-shielded', shield: true }).schedule(() => undefined);
      tasks.afterResponse.task({ name: 'finished-shielded-after', shield: true }).schedule(() => undefined);
    };
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    const started = Date.now();
    await t.app.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    const written = t.logger.lines.map((line) => line.message);
    for (const count of [0, 1, 2]) expect(written).not.toContain(messages.shutdownWaiting(count, shutdownTimeout));
    expect(t.logger.tasks('log')).toEqual([]);
    expect(t.logger.tasks('warn')).toEqual([]);
  });
});

describe.each(adapters)('the shutdown drain and the resources tasks use, on %s', (adapter) => {
  const hooks: ClosingHook[] = ['onModuleDestroy', 'beforeApplicationShutdown', 'onApplicationShutdown'];
  const cases: [ClosingHook, string, boolean, boolean][] = hooks.flatMap((hook) => [
    [hook, 'a global module', true, true] as [ClosingHook, string, boolean, boolean],
    [hook, 'a module', false, true] as [ClosingHook, string, boolean, boolean],
  ]);
  cases.push(['beforeApplicationShutdown', 'a module, without tasks.drained()', false, false]);
  cases.push(['onApplicationShutdown', 'a global module, without tasks.drained()', true, false]);

  it.each(cases)(
    'a shielded task in flight finishes before a resource closing in %s of %s',
    async (hook, _where, global, awaitDrain) => {
      Resource.hook = hook;
      Resource.awaitDrain = awaitDrain;
      Resource.events.length = 0;
      const t = await startApp(adapter, { controllers: [PlanController], imports: [resourceModule(global)] });
      const resource = t.get(Resource);
      const release = gate();
      const started = gate();
      plan.run = (tasks) => {
        tasks.afterResponse.task({ name: 'uses-resource', shield: true }).schedule(async () => {
          Resource.events.push('task:start');
          started.open();
          await release.promise;
          Resource.events.push(`task:closed=${resource.closed}`);
        });
      };
      await t.http.get('/plan').expect(200);
      await started.promise;
      const closing = t.app.close();
      await t.logger.waitForLine(messages.shutdownWaiting(1, 30_000));
      release.open();
      await closing;
      expect(Resource.events).toEqual(['task:start', 'task:closed=false', 'resource:closed']);
    },
  );

  it('every caller of the drain, concurrent or not, waits for the same shielded tasks', async () => {
    const t = await startApp(adapter, { controllers: [PlanController] });
    const release = gate();
    const events: string[] = [];
    plan.run = (tasks) => {
      tasks.task({ name: 'slow', shield: true }).schedule(async () => {
        await release.promise;
        events.push('task:end');
      });
    };
    await t.http.get('/plan').expect(200);
    // Nest 10 and 11 do not share one close() between a signal and an explicit call: both reach the hooks.
    const shutdown = t.get(TasksShutdown);
    const callers = [t.tasks.drained(), shutdown.onApplicationShutdown(), shutdown.onApplicationShutdown()];
    for (const caller of callers) void caller.then(() => events.push('caller:done'));
    await t.logger.waitForLine(messages.shutdownWaiting(1, 30_000));
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([]);
    release.open();
    await Promise.all(callers);
    expect(events).toEqual(['task:end', 'caller:done', 'caller:done', 'caller:done']);
    await t.app.close();
  });
});

describe.each(adapters)('what shutdown says, on %s', (adapter) => {
  let t: TestApp;
  afterEach(() => t?.app.close());

  it('a task that stops on its aborted signal is reported at warn, not as a failure, and onError is not called', async () => {
    const onError = jest.fn<TaskErrorHandler>();
    t = await startApp(adapter, { controllers: [PlanController], tasks: { onError } });
    const started = gate();
    let signal: AbortSignal | undefined;
    plan.run = (tasks) => {
      tasks.task({ name: 'fetcher' }).schedule(async () => {
        signal = currentTask()!.signal;
        started.open();
        await sleep(60_000, undefined, { signal }); // rejects with an AbortError, as fetch and streams do
      });
      tasks.task({ name: 'thrower' }).schedule(async () => {
        const own = currentTask()!.signal;
        await new Promise((resolve) => own.addEventListener('abort', resolve));
        own.throwIfAborted(); // rejects with the signal's reason
      });
    };
    await t.http.get('/plan').expect(200);
    await started.promise;
    await t.app.close();
    await t.tasks.onIdle();
    expect(String(signal!.reason)).toBe(`Error: ${messages.abortedShutdown('fetcher')}`);
    expect(t.logger.tasks('error')).toEqual([]);
    expect(onError).not.toHaveBeenCalled();
    expect(
      t.logger
        .tasks('warn')
        .map((line) => line.message)
        .sort(),
    ).toEqual([
      messages.stoppedByAbort('fetcher', `Error: ${messages.abortedShutdown('fetcher')}`),
      messages.stoppedByAbort('thrower', `Error: ${messages.abortedShutdown('thrower')}`),
    ]);
  });

  it('a finite shutdownTimeout above what a timer can hold is clamped, and the log says so', async () => {
    t = await startApp(adapter, { controllers: [PlanController], tasks: { shutdownTimeout: 2 ** 40 } });
    const release = gate();
    plan.run = (tasks) => {
      tasks.task({ name: 'slow', shield: true }).schedule(() => release.promise);
    };
    await t.http.get('/plan').expect(200);
    const closing = t.app.close();
    await t.logger.waitForLine(messages.shutdownWaiting(1, 2 ** 31 - 1));
    release.open();
    await closing;
    expect(t.logger.tasks('warn')).toEqual([]);
  });
});
