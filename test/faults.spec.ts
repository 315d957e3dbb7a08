import { afterEach, describe, expect, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import type { TaskErrorHandler, TasksModuleOptions } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { PlanController, plan } from './app/plan.controller.js';
import { watchProcessErrors } from './app/process-errors.js';

/** Values a task may reject with, each harder to print than the last. */
const hostile: [string, () => unknown][] = [
  ['a frozen object', () => Object.freeze({ frozen: true })],
  [
    'an object whose toString throws',
    () => ({
      toString() {
        throw new Error('toString broke');
      },
    }),
  ],
  [
    'a proxy whose every trap throws',
    () =>
      new Proxy(
        {},
        {
          get() {
            throw new Error('get trap');
          },
          ownKeys() {
            throw new Error('ownKeys trap');
          },
          getPrototypeOf() {
            throw new Error('getPrototypeOf trap');
          },
        },
      ),
  ],
  [
    'an Error whose message getter throws',
    () =>
      Object.defineProperty(new Error('x'), 'message', {
        get() {
          throw new Error('message getter');
        },
      }),
  ],
];

describe.each(adapters)('fault matrix on %s', (adapter) => {
  const processErrors = watchProcessErrors();
  let t: TestApp;
  const start = async (tasks?: TasksModuleOptions) => {
    t = await startApp(adapter, { controllers: [PlanController], tasks });
  };
  afterEach(async () => {
    await t.app.close();
    processErrors.expectNone();
  });

  it.each(hostile)(
    'logs a task rejecting with %s by name, and keeps its siblings and later requests',
    async (_case, make) => {
      await start();
      const ran: string[] = [];
      plan.run = (tasks) => {
        tasks.task({ name: 'hostile' }).schedule(() => Promise.reject(make()));
        tasks.schedule(() => ran.push('sibling'));
        tasks.afterResponse.schedule(() => ran.push('afterResponse sibling'));
        return { intact: true };
      };
      await t.http.get('/plan').expect(200, { intact: true });
      await t.http.get('/plan').expect(200, { intact: true });
      await t.tasks.onIdle();
      const errors = t.logger.tasks('error').map((line) => line.message);
      expect(errors).toHaveLength(2);
      for (const message of errors) expect(message).toMatch(/^Task "hostile" failed: /);
      expect(ran.sort()).toEqual(['afterResponse sibling', 'afterResponse sibling', 'sibling', 'sibling']);
    },
  );

  it('keeps siblings running when an onError never settles', async () => {
    const onError: TaskErrorHandler = () => new Promise(() => undefined);
    await start({ onError });
    const ran: string[] = [];
    plan.run = (tasks) => {
      tasks.schedule(() => Promise.reject(new Error('x')));
      tasks.schedule(() => ran.push('sibling'));
      tasks.afterResponse.schedule(() => ran.push('afterResponse sibling'));
    };
    await t.http.get('/plan').expect(200);
    await t.http.get('/plan').expect(200);
    const idle = await Promise.race([
      t.tasks.onIdle().then(() => 'idle'),
      new Promise((resolve) => setImmediate(() => setImmediate(() => resolve('still pending')))),
    ]);
    expect(idle).toBe('still pending'); // the stuck handler's task has not settled: onIdle says so
    expect(ran.sort()).toEqual(['afterResponse sibling', 'afterResponse sibling', 'sibling', 'sibling']);
  });

  it('survives 10,000 tasks failing at once, logging each by name', async () => {
    await start();
    plan.run = (tasks) => {
      for (let i = 0; i < 10_000; i++) {
        tasks.task({ name: `bulk_${i}` }).schedule(() => Promise.reject(new Error(`fail ${i}`)));
      }
      return { scheduled: 10_000 };
    };
    await t.http.get('/plan').expect(200, { scheduled: 10_000 });
    await t.tasks.onIdle();
    const errors = t.logger.tasks('error');
    expect(errors).toHaveLength(10_000);
    expect(errors[9_999]!.message).toBe(messages.taskFailed('bulk_9999', new Error('fail 9999')));
    plan.run = () => ({ after: true });
    await t.http.get('/plan').expect(200, { after: true });
  });
});

describe.each(adapters)('a logger that throws, on %s', (adapter) => {
  const processErrors = watchProcessErrors();

  it('never lets a broken logger crash the app or keep a task from settling', async () => {
    const t = await startApp(adapter, { controllers: [PlanController] });
    const broken: LoggerService = {
      log: () => undefined,
      warn: () => undefined,
      debug: () => {
        throw new Error('logger broke');
      },
      error: () => {
        throw new Error('logger broke');
      },
    };
    t.app.useLogger(broken);
    plan.run = (tasks) => {
      tasks.schedule(() => Promise.reject(new Error('task broke')));
      tasks.afterResponse.schedule(() => undefined);
    };
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    await t.app.close();
    processErrors.expectNone();
  });
});
