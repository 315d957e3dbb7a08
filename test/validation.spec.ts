import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TasksError, TasksModule, TasksService } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { PlanController, plan } from './app/plan.controller.js';

describe('TasksModule.forRoot() input', () => {
  it.each([
    [{ shutdownTimeout: -1 }, messages.badShutdownTimeout(-1)],
    [{ shutdownTimeout: '5s' }, messages.badShutdownTimeout('5s')],
    [{ shutdownTimeout: '' }, messages.badShutdownTimeout('')],
    [{ shutdownTimeout: '  ' }, messages.badShutdownTimeout('  ')],
    [{ shutdownTimeout: '10s' }, messages.badShutdownTimeout('10s')],
    [{ shutdownTimeout: '-1' }, messages.badShutdownTimeout('-1')],
    [{ shutdownTimeout: '1e3' }, messages.badShutdownTimeout('1e3')],
    [{ shutdownTimeout: 'NaN' }, messages.badShutdownTimeout('NaN')],
    [{ shutdownTimeout: NaN }, messages.badShutdownTimeout(NaN)],
    [
      { onError: 'console' },
      messages.expected('`onError`', 'a function `(task, error) => void` or undefined', 'console'),
    ],
    [{ shield: 'yes' }, messages.expected('`shield`', 'a boolean or undefined', 'yes')],
    [
      { timeoutMs: 5 },
      messages.unknownOption('timeoutMs', 'TasksModule options', [
        'name',
        'shield',
        'onError',
        'always',
        'timeout',
        'retry',
        'concurrency',
        'queueLimit',
        'group',
        'durable',
        'shutdownTimeout',
        'maxConcurrency',
        'logFormat',
      ]),
    ],
    [42, messages.expected('TasksModule options', 'an object', 42)],
  ])('refuses %p when forRoot is called, naming the value', (options, message) => {
    expect(() => TasksModule.forRoot(options as never)).toThrow(new TasksError(message));
  });

  it('accepts Infinity and 0 as shutdownTimeout', () => {
    expect(() => TasksModule.forRoot({ shutdownTimeout: Infinity })).not.toThrow();
    expect(() => TasksModule.forRoot({ shutdownTimeout: 0 })).not.toThrow();
  });
});

describe('TasksModule.forRootAsync()', () => {
  @Injectable()
  class Settings {
    readonly shutdownTimeout = 1234;
  }
  @Module({ providers: [Settings], exports: [Settings] })
  class SettingsModule {}

  it('builds the options from an injected provider', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TasksModule.forRootAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (settings: Settings) => ({ shutdownTimeout: settings.shutdownTimeout, shield: true }),
        }),
      ],
    }).compile();
    const tasks = moduleRef.get(TasksService);
    const task = tasks.schedule(() => undefined);
    expect(task.config.shield).toBe(true);
    await tasks.onIdle();
    await moduleRef.close();
  });

  it('refuses bad options from the factory with a TasksError naming the value', async () => {
    const compile = Test.createTestingModule({
      imports: [TasksModule.forRootAsync({ useFactory: async () => ({ shutdownTimeout: -5 }) })],
    }).compile();
    await expect(compile).rejects.toThrow(new TasksError(messages.badShutdownTimeout(-5)));
  });
});

describe.each(adapters)('schedule() input on %s', (adapter) => {
  let t: TestApp;
  afterEach(() => t.app.close());

  it.each([
    ['a string', 'sendEmail'],
    ['undefined', undefined],
    ['a promise', Promise.resolve()],
    ['an object', { run: () => undefined }],
  ])('refuses %s as the task in every mode, with the value named, and leaves nothing pending', async (_case, value) => {
    t = await startApp(adapter, { controllers: [PlanController] });
    plan.run = (tasks) => {
      const caught: string[] = [];
      for (const scheduler of [tasks, tasks.afterRoute, tasks.afterResponse, tasks.task({ name: 'n' })]) {
        try {
          scheduler.schedule(value as never);
        } catch (error) {
          caught.push(error instanceof TasksError ? error.message : `not a TasksError: ${String(error)}`);
        }
      }
      return { caught };
    };
    const response = await t.http.get('/plan').expect(200);
    expect(response.body).toEqual({ caught: Array(4).fill(messages.notAFunction(value)) });
    await t.tasks.onIdle();
  });

  it('refuses bad task() options with a TasksError naming the value', async () => {
    t = await startApp(adapter, { controllers: [PlanController] });
    plan.run = (tasks) => {
      try {
        tasks.afterResponse.task({ shield: 'yes' } as never);
        return { caught: 'nothing' };
      } catch (error) {
        return { caught: (error as Error).message, isTasksError: error instanceof TasksError };
      }
    };
    const response = await t.http.get('/plan').expect(200);
    expect(response.body).toEqual({
      caught: messages.expected('`shield`', 'a boolean or undefined', 'yes'),
      isTasksError: true,
    });
  });
});
