import { afterEach, describe, expect, it } from '@jest/globals';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TasksModule, TasksService, currentTask, type Task } from '../lib/index.js';
import { TaskRunner } from '../lib/core/task-runner.js';
import type { TaskObserver } from '../lib/core/task-observer.js';
import { messages } from '../lib/core/tasks.messages.js';
import { RecordingLogger } from './app/harness.js';

@Module({ imports: [TasksModule.forRoot({ onError: () => undefined })] })
class ObservedModule {}

describe('task observers (the hooks the integrations use)', () => {
  let app: INestApplicationContext;
  let tasks: TasksService;
  let runner: TaskRunner;
  let logger: RecordingLogger;

  const start = async () => {
    logger = new RecordingLogger();
    app = await NestFactory.createApplicationContext(ObservedModule, { logger });
    tasks = app.get(TasksService);
    runner = app.get(TaskRunner);
  };
  afterEach(() => app.close());

  /** An observer that records every hook, in order. */
  const recorder = (events: string[]): TaskObserver => ({
    scheduled: (task) => void events.push(`scheduled ${task.name} ${task.mode}`),
    around: (task, run) => {
      events.push(`around ${task.name} ${task.attempt} current=${currentTask() === task ? 'task' : 'other'}`);
      const result = run();
      events.push(`ran ${task.name}`);
      return result;
    },
    attemptEnded: (task, error, timedOut) =>
      void events.push(
        `attempt ${task.name} ${task.attempt} ${error === undefined ? 'ok' : (error as Error).message} ${timedOut}`,
      ),
    settled: (task, outcome, detail) =>
      void events.push(`settled ${task.name} ${outcome}${detail instanceof Error ? ` ${detail.message}` : ''}`),
  });

  it('calls each hook in order, wraps the attempt inside the task context, and passes the last error', async () => {
    await start();
    const events: string[] = [];
    runner.observe(recorder(events));
    tasks.task({ name: 'ok' }).schedule(() => events.push('body ok'));
    await tasks.onIdle();
    let calls = 0;
    tasks.task({ name: 'flaky', retry: { attempts: 2, delay: 1 } }).schedule(async () => {
      throw new Error(`boom ${++calls}`);
    });
    await tasks.onIdle();
    expect(events).toEqual([
      'scheduled ok immediate',
      'around ok 1 current=task',
      'body ok',
      'ran ok',
      'attempt ok 1 ok false',
      'settled ok succeeded',
      'scheduled flaky immediate',
      'around flaky 1 current=task',
      'ran flaky',
      'attempt flaky 1 boom 1 false',
      'around flaky 2 current=task',
      'ran flaky',
      'attempt flaky 2 boom 2 false',
      'settled flaky failed boom 2',
    ]);
  });

  it('holds a task an observer intercepts: it settles as dropped and never runs', async () => {
    await start();
    const ran: string[] = [];
    const settled: string[] = [];
    runner.observe({
      intercept: (task: Task) => task.name === 'held',
      settled: (task, outcome) => void settled.push(`${task.name} ${outcome}`),
    });
    tasks.task({ name: 'held' }).schedule(() => ran.push('held'));
    tasks.task({ name: 'free' }).schedule(() => ran.push('free'));
    await tasks.onIdle();
    expect(ran).toEqual(['free']);
    expect(settled).toEqual(['held dropped', 'free succeeded']);
    expect(logger.tasks('debug').map((line) => line.message)).toEqual([messages.intercepted('held')]);
  });

  it('logs a hook that throws and runs the task anyway; a removed observer is not called', async () => {
    await start();
    const failing = new Error('observer broke');
    const remove = runner.observe({
      scheduled: () => {
        throw failing;
      },
    });
    const ran: string[] = [];
    tasks.schedule(() => ran.push('first'));
    await tasks.onIdle();
    remove();
    tasks.schedule(() => ran.push('second'));
    await tasks.onIdle();
    expect(ran).toEqual(['first', 'second']);
    expect(logger.tasks('error').map((line) => line.message)).toEqual([messages.observerFailed(failing)]);
  });
});
