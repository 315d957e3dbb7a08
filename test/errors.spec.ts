import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { Task, TaskErrorHandler, TasksModuleOptions } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { PlanController, plan } from './app/plan.controller.js';
import { watchProcessErrors } from './app/process-errors.js';

type Handler = jest.Mock<TaskErrorHandler>;
const handler = (): Handler => jest.fn<TaskErrorHandler>();

describe.each(adapters)('task errors on %s', (adapter) => {
  const processErrors = watchProcessErrors();
  let t: TestApp;
  const start = async (tasks?: TasksModuleOptions) => {
    t = await startApp(adapter, { controllers: [PlanController], tasks });
  };
  afterEach(async () => {
    await t.app.close();
    processErrors.expectNone();
  });

  it.each([
    [
      'throws synchronously',
      () => {
        throw new Error('sync boom');
      },
      'Error: sync boom',
    ],
    [
      'rejects with an Error',
      async () => {
        throw new TypeError('async boom');
      },
      'TypeError: async boom',
    ],
    ['rejects with a string', () => Promise.reject('plain string'), "non-Error value `'plain string'` (string)"],
    ['rejects with undefined', () => Promise.reject(undefined), 'non-Error value `undefined` (undefined)'],
    ['rejects with null', () => Promise.reject(null), 'non-Error value `null` (null)'],
    ['rejects with a plain object', () => Promise.reject({ code: 42 }), 'non-Error value `{ code: 42 }` (object)'],
  ])('logs a task that %s at error level with its name, and answers 200', async (_case, failing, shown) => {
    await start();
    plan.run = (tasks) => {
      tasks.task({ name: 'failing' }).schedule(failing);
    };
    await t.http.get('/plan').expect(200, { ok: true });
    await t.tasks.onIdle();
    const errors = t.logger.tasks('error');
    expect(errors.map((line) => line.message)).toEqual([`Task "failing" failed: ${shown}`]);
    if (shown.startsWith('non-Error')) return;
    expect(String(errors[0]!.rest[0])).toContain(shown);
    expect(String(errors[0]!.rest[0])).toMatch(/\n\s+at /);
  });

  it.each([
    ['ENOENT from fs', () => readFile('/nonexistent/nestjs-tasks/file.txt'), /^Error: ENOENT: no such file/],
    [
      'an AbortError from timers/promises',
      () => delay(10, undefined, { signal: AbortSignal.abort() }),
      /^AbortError: The operation was aborted/,
    ],
  ])(
    'logs an error made by Node itself (%s, another realm under Jest) as an Error with its stack',
    async (_case, fail, shown) => {
      await start();
      let thrown: unknown;
      plan.run = (tasks) => {
        tasks.task({ name: 'x' }).schedule(async () => {
          try {
            await fail();
          } catch (error) {
            thrown = error;
            throw error;
          }
        });
      };
      await t.http.get('/plan').expect(200);
      await t.tasks.onIdle();
      // Made outside the test's realm: `instanceof Error` cannot recognise it.
      expect(thrown instanceof Error).toBe(false);
      const errors = t.logger.tasks('error');
      expect(errors.map((line) => line.message)).toEqual([messages.taskFailed('x', thrown)]);
      expect(errors[0]!.message.slice('Task "x" failed: '.length)).toMatch(shown);
      expect(errors[0]!.rest[0]).toBe((thrown as { stack: string }).stack);
      expect(errors[0]!.rest[0]).toMatch(/\n\s+at /);
    },
  );

  it('uses the function name when the task has none', async () => {
    await start();
    plan.run = (tasks) => {
      tasks.schedule(async function rebuildIndex() {
        throw new Error('x');
      });
    };
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    expect(t.logger.tasks('error').map((line) => line.message)).toEqual([
      messages.taskFailed('rebuildIndex', new Error('x')),
    ]);
  });

  it('hands an immediate task error to the global onError, not the log; the response is 200', async () => {
    const onError = handler();
    await start({ onError });
    const error = new Error('global');
    let scheduled: Task | undefined;
    plan.run = (tasks) => {
      scheduled = tasks.schedule(() => Promise.reject(error));
    };
    await t.http.get('/plan').expect(200, { ok: true });
    await t.tasks.onIdle();
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(scheduled!, error);
    expect(t.logger.tasks('error')).toEqual([]);
  });

  it('prefers a per-task onError over the global one', async () => {
    const global = handler();
    const local = handler();
    await start({ onError: global });
    plan.run = (tasks) => {
      tasks.task({ onError: local }).schedule(() => Promise.reject(new Error('local')));
    };
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    expect(local).toHaveBeenCalledTimes(1);
    expect(global).not.toHaveBeenCalled();
  });

  it('keeps the global onError when a task only overrides shield', async () => {
    const global = handler();
    await start({ shield: true, onError: global });
    let task: Task | undefined;
    plan.run = (tasks) => {
      task = tasks.task({ shield: false }).schedule(() => Promise.reject(new Error('x')));
    };
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    expect(task!.config.shield).toBe(false);
    expect(global).toHaveBeenCalledTimes(1);
  });

  it('hands the error of a failing task in every mode to the global onError', async () => {
    const global = handler();
    await start({ onError: global });
    const errors = [new Error('immediate'), new Error('afterRoute'), new Error('afterResponse')];
    plan.run = (tasks) => {
      tasks.schedule(() => Promise.reject(errors[0]));
      tasks.afterRoute.schedule(() => Promise.reject(errors[1]));
      tasks.afterResponse.schedule(() => Promise.reject(errors[2]));
    };
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    expect(global.mock.calls.map(([, error]) => error)).toEqual(errors);
  });

  it('settles a task only once its async onError has finished', async () => {
    const done: string[] = [];
    await start({
      onError: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        done.push('onError finished');
      },
    });
    plan.run = (tasks) => {
      tasks.schedule(() => Promise.reject(new Error('x')));
    };
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    expect(done).toEqual(['onError finished']);
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('handler broke');
      },
    ],
    ['rejects', () => Promise.reject(new Error('handler broke'))],
  ])('logs both errors when onError %s, and keeps the other tasks running', async (_case, onError) => {
    await start({ onError });
    const ran: string[] = [];
    plan.run = (tasks) => {
      tasks.task({ name: 'broken' }).schedule(() => Promise.reject(new Error('task broke')));
      tasks.schedule(() => ran.push('sibling'));
      tasks.afterResponse.schedule(() => ran.push('afterResponse sibling'));
    };
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    expect(t.logger.tasks('error').map((line) => line.message)).toEqual([
      messages.onErrorFailed('broken', new Error('task broke'), new Error('handler broke')),
    ]);
    expect(ran.sort()).toEqual(['afterResponse sibling', 'sibling']);
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    expect(ran).toHaveLength(4);
  });

  it('does not let a failing task change the response or other requests', async () => {
    await start();
    plan.run = (tasks) => {
      tasks.schedule(() => {
        throw new Error('immediate');
      });
      tasks.afterRoute.schedule(() => {
        throw new Error('afterRoute');
      });
      tasks.afterResponse.schedule(() => {
        throw new Error('afterResponse');
      });
      return { body: 'intact' };
    };
    await t.http.get('/plan').expect(200, { body: 'intact' });
    await t.http.get('/plan').expect(200, { body: 'intact' });
    await t.tasks.onIdle();
    expect(t.logger.tasks('error')).toHaveLength(6);
  });
});
