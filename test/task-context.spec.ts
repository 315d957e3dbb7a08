import { afterEach, describe, expect, it } from '@jest/globals';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AsyncLocalStorage } from 'node:async_hooks';
import { TasksModule, TasksService, currentTask, type Task } from '../lib/index.js';
import { RecordingLogger } from './app/harness.js';

/**
 * A task's attempt runs as a promise job of its own with the task's store entered for the rest
 * of that job (no second context frame to restore the old one), and its promise's reactions
 * find the task through that store. These tests hold the two ends of that: every task settles
 * as itself whatever its function does to the async context, and nothing of a task's context
 * reaches code outside it.
 */
describe('the async context of a task', () => {
  let app: INestApplicationContext | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(): Promise<{ tasks: TasksService; logger: RecordingLogger }> {
    @Module({ imports: [TasksModule.forRoot()] })
    class ContextModule {}
    const logger = new RecordingLogger();
    app = await NestFactory.createApplicationContext(ContextModule, { logger });
    return { tasks: app.get(TasksService), logger };
  }

  it('settles each task as itself when its function switches context, nests stores or returns a thenable', async () => {
    const { tasks } = await start();
    const other = new AsyncLocalStorage<string>();
    const settled: string[] = [];
    const failed: string[] = [];
    const onError = (task: Task, error: unknown) => void failed.push(`${task.name}:${(error as Error).message}`);
    const kinds = {
      enterWith: async (id: number) => {
        other.enterWith(`entered ${id}`);
        await Promise.resolve();
        settled.push(`enterWith ${id}:${currentTask()?.args[0]}`);
      },
      nestedRun: (id: number) =>
        other.run(`run ${id}`, async () => {
          await new Promise((resolve) => setImmediate(resolve));
          settled.push(`nestedRun ${id}:${currentTask()?.args[0]}`);
        }),
      thenable: (id: number) => ({
        then(resolve: (value: unknown) => void) {
          setImmediate(() => {
            settled.push(`thenable ${id}:${currentTask()?.args[0]}`);
            resolve(id);
          });
        },
      }),
      rejects: async (id: number) => {
        other.enterWith(`rejects ${id}`);
        await Promise.resolve();
        throw new Error(`no ${id}`);
      },
      throwsSync: (id: number) => {
        other.enterWith(`throws ${id}`);
        throw new Error(`sync ${id}`);
      },
    };
    for (let id = 0; id < 20; id++) {
      for (const [name, fn] of Object.entries(kinds)) tasks.task({ name, onError }).schedule(fn, id);
    }
    await tasks.onIdle();
    const ids = Array.from({ length: 20 }, (_, id) => id);
    expect(settled.sort()).toEqual(
      ['enterWith', 'nestedRun', 'thenable'].flatMap((name) => ids.map((id) => `${name} ${id}:${id}`)).sort(),
    );
    expect(failed.sort()).toEqual(
      [...ids.map((id) => `rejects:no ${id}`), ...ids.map((id) => `throwsSync:sync ${id}`)].sort(),
    );
    expect(tasks.stats()).toMatchObject({ succeeded: 60, failed: 40, running: 0, pending: 0 });
  });

  it('leaves no task context behind: not in the scheduling code, its next jobs, ticks, timers or other tasks', async () => {
    const { tasks } = await start();
    const seen: string[] = [];
    const look = (where: string) => seen.push(`${where}:${currentTask()?.name ?? 'none'}`);
    tasks.task({ name: 'first' }).schedule(() => look('first body'));
    look('after schedule');
    await Promise.resolve();
    look('next job');
    await new Promise((resolve) => process.nextTick(resolve));
    look('tick');
    await tasks.onIdle();
    look('after onIdle');
    tasks.task({ name: 'second' }).schedule(async () => {
      look('second body');
      await new Promise((resolve) => setTimeout(resolve, 1));
      look('second after timer');
    });
    await new Promise((resolve) => setImmediate(resolve));
    look('immediate');
    await tasks.onIdle();
    expect(seen.slice(0, 6)).toEqual([
      'after schedule:none',
      'first body:first',
      'next job:none',
      'tick:none',
      'after onIdle:none',
      'second body:second',
    ]);
    // A loaded machine may run the 1 ms timer before or after the immediate: each keeps its own context.
    expect(seen.slice(6).sort()).toEqual(['immediate:none', 'second after timer:second']);
  });

  it('gives onError the failed task as currentTask(), and the scheduling context', async () => {
    const { tasks } = await start();
    const request = new AsyncLocalStorage<string>();
    const seen: string[] = [];
    request.run('request 7', () =>
      tasks
        .task({
          name: 'fails',
          onError: (task) => void seen.push(`${currentTask() === task}:${request.getStore()}`),
        })
        .schedule(async () => {
          await Promise.resolve();
          throw new Error('no');
        }),
    );
    await tasks.onIdle();
    expect(seen).toEqual(['true:request 7']);
  });
});
