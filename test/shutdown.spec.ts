import { describe, expect, it } from '@jest/globals';
import { TasksModule, currentTask, type TasksModuleOptions } from '../lib/index.js';
import { messages } from '../lib/tasks.messages.js';
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

  it('runs a shielded task scheduled after the drain ended, and close() awaits it', async () => {
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
      tasks.task({ name: 'after-drain-shielded', shield: true }).schedule(async () => {
        probe.record('after-drain-shielded:start');
        await new Promise((resolve) => setTimeout(resolve, 50)); // the task's own work
        probe.record('after-drain-shielded:end');
      });
    };
    await t.http.get('/plan').expect(200);
    await probe.waitFor('drainer:start');
    const closing = t.app.close();
    await t.logger.waitForLine(messages.shutdownWaiting(1, Infinity));
    release.open();
    await closing;
    expect(probe.events).toContain('hook:drainer-ended=true');
    expect(probe.has('after-drain-unshielded:ran')).toBe(false);
    expect(t.logger.tasks('debug').map((line) => line.message)).toContain(
      messages.droppedShutdown('after-drain-unshielded'),
    );
    expect(probe.has('after-drain-shielded:start')).toBe(true);
    const endedBeforeCloseResolved = probe.has('after-drain-shielded:end');
    await t.tasks.onIdle();
    // The README: once shutdown has begun, a shielded task "is run and awaited".
    expect(endedBeforeCloseResolved).toBe(true);
  });

  it('runs a shielded task scheduled after close() resolved, and onIdle() awaits it', async () => {
    await start();
    const closed = gate();
    plan.run = (tasks) => {
      // An unshielded task that outlives close(): aborted, not awaited, it then schedules more work.
      tasks.task({ name: 'outliver' }).schedule(async () => {
        await aborted(currentTask()!.signal);
        await closed.promise;
        tasks.task({ name: 'after-close-unshielded' }).schedule(() => probe.record('after-close-unshielded:ran'));
        tasks.task({ name: 'after-close-shielded', shield: true }).schedule(async () => {
          await new Promise((resolve) => setImmediate(resolve));
          probe.record('after-close-shielded:end');
        });
        probe.record('outliver:scheduled');
      });
    };
    await t.http.get('/plan').expect(200);
    await t.app.close();
    closed.open();
    await probe.waitFor('outliver:scheduled');
    await t.tasks.onIdle();
    expect(probe.has('after-close-shielded:end')).toBe(true);
    expect(probe.has('after-close-unshielded:ran')).toBe(false);
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
