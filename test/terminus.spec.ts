import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { messages } from '../lib/core/tasks.messages.js';
import { healthMessages } from '../lib/terminus/health.messages.js';
import { TasksHealthIndicator } from '../lib/terminus/index.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { HealthModule, healthLimits } from './app/health.fixtures.js';

/** A promise and the function that resolves it: tasks that wait for the test. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe.each(adapters)('TasksHealthIndicator through a terminus /health endpoint on %s', (adapter) => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.app.close();
    app = undefined;
    healthLimits.current = {};
  });

  const start = async () =>
    (app = await startApp(adapter, { imports: [HealthModule], tasks: { shutdownTimeout: 5000 } }));

  it('is up with the counts when nothing is over a limit', async () => {
    const { http, tasks } = await start();
    healthLimits.current = { maxQueued: 10, maxRunning: 10, maxFailedRatio: 0.5 };
    tasks.schedule(() => undefined);
    await tasks.onIdle();
    const response = await http.get('/health').expect(200);
    expect(response.body).toEqual({
      status: 'ok',
      info: {
        tasks: {
          status: 'up',
          running: 0,
          queued: 0,
          pending: 0,
          retrying: 0,
          failed: 0,
          shuttingDown: false,
          failedRatio: 0,
        },
      },
      error: {},
      details: {
        tasks: {
          status: 'up',
          running: 0,
          queued: 0,
          pending: 0,
          retrying: 0,
          failed: 0,
          shuttingDown: false,
          failedRatio: 0,
        },
      },
    });
  });

  it('is down (503) over maxQueued and maxRunning, and up again once the backlog clears', async () => {
    const { http, tasks } = await start();
    healthLimits.current = { maxQueued: 1, maxRunning: 0 };
    const { opened, open } = gate();
    for (let i = 0; i < 3; i++) tasks.task({ name: 'export', concurrency: 1 }).schedule(() => opened);

    const down = await http.get('/health').expect(503);
    expect(down.body.status).toBe('error');
    expect(down.body.error.tasks).toEqual({
      status: 'down',
      running: 1,
      queued: 2,
      pending: 0,
      retrying: 0,
      failed: 0,
      shuttingDown: false,
      message: [healthMessages.overLimit('queued', 2, 1), healthMessages.overLimit('running', 1, 0)].join('; '),
    });

    open();
    await tasks.onIdle();
    await http.get('/health').expect(200);
  });

  it('is down over maxFailedRatio, counted over the tasks settled since the previous check', async () => {
    const { http, tasks } = await start();
    healthLimits.current = { maxFailedRatio: 0.25 };
    tasks.task({ onError: () => undefined }).schedule(() => {
      throw new Error('boom');
    });
    tasks.schedule(() => undefined);
    await tasks.onIdle();

    const down = await http.get('/health').expect(503);
    expect(down.body.error.tasks).toMatchObject({
      status: 'down',
      failed: 1,
      failedRatio: 0.5,
      message: healthMessages.overLimit('failedRatio', 0.5, 0.25),
    });
    // No task settled since: the window is empty.
    const up = await http.get('/health').expect(200);
    expect(up.body.info.tasks).toMatchObject({ status: 'up', failed: 1, failedRatio: 0 });
  });

  it('is down while shutdown drains shielded tasks', async () => {
    const { http, tasks, logger, app: nest } = await start();
    const { opened, open } = gate();
    tasks.task({ name: 'ledger', shield: true }).schedule(() => opened);
    await http.get('/health').expect(200);

    const closed = nest.close();
    await logger.waitForLine(messages.shutdownWaiting(1, 5000));
    const down = await http.get('/health').expect(503);
    expect(down.body.error.tasks).toMatchObject({
      status: 'down',
      running: 1,
      shuttingDown: true,
      message: healthMessages.shuttingDown(),
    });

    open();
    await closed;
    app = undefined;
  });
});

describe('TasksHealthIndicator limits', () => {
  it('refuses a bad limit at once, naming it', () => {
    const indicator = new TasksHealthIndicator(undefined as never, undefined as never);
    expect(() => indicator.isHealthy('tasks', { maxQueued: -1 })).toThrow(healthMessages.badLimit('maxQueued', -1));
    expect(() => indicator.isHealthy('tasks', { maxFailedRatio: 2 })).toThrow(healthMessages.badRatio(2));
  });
});

describe("importing 'nestjs-tasks' alone", () => {
  // The ESM build of lib/ that `npm test`'s pretest compiles (test/process/tsconfig.json).
  const built = (path: string) => fileURLToPath(new URL(`../dist-test/lib/${path}`, import.meta.url));
  /** Imports `entry` in a fresh Node process whose resolver refuses the optional peers; returns its output. */
  const importRefusingPeers = (entry: string) => {
    const hook = `export async function resolve(specifier, context, next) {
      if (/^@nestjs\\/(terminus|testing)(\\/|$)/.test(specifier)) throw new Error('loaded ' + specifier);
      return next(specifier, context);
    }`;
    const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
    const script = `await import(${JSON.stringify(entry)}); console.log('imported');`;
    try {
      return execFileSync(
        process.execPath,
        ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script],
        {
          encoding: 'utf8',
          stdio: 'pipe',
        },
      );
    } catch (error) {
      return String((error as { stderr?: string }).stderr);
    }
  };

  it('loads neither @nestjs/terminus nor @nestjs/testing; the terminus entry does load its peer', () => {
    expect(existsSync(built('index.js'))).toBe(true);
    expect(importRefusingPeers(built('index.js')).trim()).toBe('imported');
    expect(importRefusingPeers(built('testing/index.js')).trim()).toBe('imported');
    expect(importRefusingPeers(built('terminus/index.js'))).toContain('loaded @nestjs/terminus');
  });
});
