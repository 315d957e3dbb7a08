import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  Task,
  TaskQueueFullError,
  TaskTimeoutError,
  TasksError,
  TasksModule,
  TasksService,
  currentTask,
  type TasksModuleOptions,
  type Task as ScheduledTask,
} from '../lib/index.js';
import { retryDelay, toRetryPolicy } from '../lib/control/retry-policy.js';
import { messages } from '../lib/core/tasks.messages.js';
import { RecordingLogger } from './app/harness.js';
import { gate } from './app/probe.js';

/** A standalone app with fake timers, so that timeouts and backoff delays are virtual. */
async function start(options: TasksModuleOptions = {}, providers: (new (...args: never[]) => unknown)[] = []) {
  @Module({ imports: [TasksModule.forRoot(options)], providers })
  class ControlModule {}
  const logger = new RecordingLogger();
  const app = await NestFactory.createApplicationContext(ControlModule, { logger });
  return { app, tasks: app.get(TasksService), logger };
}

const text = (logger: RecordingLogger, level: 'warn' | 'error' | 'debug' | 'log') =>
  logger.tasks(level).map((line) => line.message);

describe('task control', () => {
  let app: INestApplicationContext;
  let tasks: TasksService;
  let logger: RecordingLogger;

  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(async () => {
    await app?.close();
    jest.useRealTimers();
  });

  describe('timeout', () => {
    it('aborts the signal with a TaskTimeoutError, fails the attempt with it and settles even if the function goes on', async () => {
      ({ app, tasks, logger } = await start());
      const errors: unknown[] = [];
      let signal: AbortSignal | undefined;
      const hang = gate();
      const task = tasks
        .task({ name: 'hangs', timeout: 100, onError: (_, error) => void errors.push(error) })
        .schedule(() => {
          signal = currentTask()?.signal;
          return hang.promise; // ignores its signal
        });
      let idle = false;
      void tasks.onIdle().then(() => (idle = true));
      await jest.advanceTimersByTimeAsync(99);
      expect(idle).toBe(false);
      expect(tasks.stats().running).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(idle).toBe(true);
      expect(signal?.aborted).toBe(true);
      expect(signal?.reason).toBeInstanceOf(TaskTimeoutError);
      expect(errors).toEqual([signal?.reason]);
      expect((errors[0] as Error).message).toBe(messages.timedOut('hangs', 100, 1));
      expect(errors[0]).toBeInstanceOf(TasksError);
      expect(task.attempt).toBe(1);
      expect(tasks.stats()).toMatchObject({ running: 0, timedOut: 1, failed: 0 });
      await jest.advanceTimersByTimeAsync(1); // the fake setImmediate runs on the next fake millisecond
      expect(text(logger, 'warn')).toEqual([messages.stillRunningAfterTimeout('hangs', 100)]);
      hang.open();
      await jest.advanceTimersByTimeAsync(0);
      expect(errors).toHaveLength(1);
      expect(tasks.stats()).toMatchObject({ succeeded: 0, timedOut: 1 });
    });

    it('logs no warning when the function stops on its signal, and logs the timeout as the error without onError', async () => {
      ({ app, tasks, logger } = await start());
      tasks.task({ name: 'polite', timeout: 50 }).schedule(
        () =>
          new Promise((_, reject) => {
            const signal = currentTask()!.signal;
            signal.addEventListener('abort', () => reject(signal.reason as Error));
          }),
      );
      await jest.advanceTimersByTimeAsync(51);
      expect(text(logger, 'warn')).toEqual([]);
      expect(text(logger, 'error')).toEqual([messages.taskFailed('polite', new TaskTimeoutError('polite', 50, 1))]);
    });

    it('clears its timer when the attempt ends first', async () => {
      ({ app, tasks } = await start({ timeout: 1000 }));
      tasks.schedule(async () => undefined);
      await tasks.onIdle();
      expect(jest.getTimerCount()).toBe(0);
      expect(tasks.stats()).toMatchObject({ succeeded: 1, timedOut: 0 });
    });

    it('gives each attempt a fresh signal when a timeout aborted the last one', async () => {
      ({ app, tasks } = await start());
      const signals: AbortSignal[] = [];
      tasks.task({ timeout: 100, retry: { attempts: 2, delay: 10 } }).schedule(() => {
        const task = currentTask()!;
        signals.push(task.signal);
        return task.attempt === 1 ? new Promise(() => undefined) : 'done';
      });
      await jest.advanceTimersByTimeAsync(110);
      await tasks.onIdle();
      expect(signals.map((signal) => signal.aborted)).toEqual([true, false]);
      expect(tasks.stats()).toMatchObject({ succeeded: 1, timedOut: 0 });
    });
  });

  describe('retry', () => {
    it('retries with exponential backoff, sees the attempt, and calls onError once after the last attempt', async () => {
      ({ app, tasks, logger } = await start());
      const seen: [number, number][] = [];
      const onError = jest.fn<(task: ScheduledTask, error: unknown) => void>();
      const task = tasks.task({ name: 'flaky', retry: 3, onError }).schedule(() => {
        seen.push([currentTask()!.attempt, Date.now()]);
        throw new Error(`attempt ${currentTask()!.attempt}`);
      });
      const startedAt = Date.now();
      await jest.advanceTimersByTimeAsync(0);
      expect(tasks.stats()).toMatchObject({ retrying: 1, running: 0 });
      await jest.advanceTimersByTimeAsync(999);
      expect(seen).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(seen).toHaveLength(2);
      expect(onError).not.toHaveBeenCalled();
      await jest.advanceTimersByTimeAsync(2000);
      await tasks.onIdle();
      expect(seen.map(([attempt, at]) => [attempt, at - startedAt])).toEqual([
        [1, 0],
        [2, 1000],
        [3, 3000],
      ]);
      expect(onError).toHaveBeenCalledTimes(1);
      expect(onError.mock.calls[0][0]).toBe(task);
      expect((onError.mock.calls[0][1] as Error).message).toBe('attempt 3');
      expect(task.attempt).toBe(3);
      expect(text(logger, 'warn')).toEqual([
        messages.retrying('flaky', 1, 3, 1000, new Error('attempt 1')),
        messages.retrying('flaky', 2, 3, 2000, new Error('attempt 2')),
      ]);
      expect(tasks.stats()).toMatchObject({ failed: 1, retrying: 0 });
    });

    it('stops retrying when an attempt succeeds', async () => {
      ({ app, tasks } = await start());
      let calls = 0;
      const onError = jest.fn<(task: ScheduledTask, error: unknown) => void>();
      tasks.task({ retry: { attempts: 5, delay: 5, backoff: 'fixed' }, onError }).schedule(async () => {
        if (++calls < 3) throw new Error('not yet');
      });
      await jest.advanceTimersByTimeAsync(100);
      await tasks.onIdle();
      expect(calls).toBe(3);
      expect(onError).not.toHaveBeenCalled();
      expect(tasks.stats()).toMatchObject({ succeeded: 1, failed: 0 });
    });

    it('does not retry when retryIf says no, nor when it throws (which is logged)', async () => {
      ({ app, tasks, logger } = await start({ retry: { attempts: 3, delay: 1 } }));
      const errors: unknown[] = [];
      const onError = (_: ScheduledTask, error: unknown) => void errors.push(error);
      const fatal = new Error('fatal');
      let calls = 0;
      tasks.task({ retry: { attempts: 3, delay: 1, retryIf: (error) => error !== fatal }, onError }).schedule(() => {
        calls++;
        throw fatal;
      });
      const broken = new Error('retryIf broke');
      tasks
        .task({
          name: 'judged',
          onError,
          retry: {
            attempts: 3,
            retryIf: () => {
              throw broken;
            },
          },
        })
        .schedule(() => {
          calls++;
          throw new Error('first');
        });
      await jest.advanceTimersByTimeAsync(10);
      await tasks.onIdle();
      expect(calls).toBe(2);
      expect(errors.map((error) => (error as Error).message)).toEqual(['fatal', 'first']);
      expect(text(logger, 'error')).toEqual([messages.retryIfFailed('judged', broken)]);
    });

    it('lets a later layer replace retry as a whole, and retry: false turn it off', async () => {
      @Injectable()
      class Flaky {
        calls = 0;
        @Task({ retry: { attempts: 4, delay: 1, backoff: 'fixed' } })
        fail(): void {
          this.calls++;
          throw new Error('no');
        }
      }
      ({ app, tasks } = await start({ onError: () => undefined }, [Flaky]));
      const flaky = app.get(Flaky);
      tasks.call(flaky, 'fail');
      await jest.advanceTimersByTimeAsync(10);
      await tasks.onIdle();
      expect(flaky.calls).toBe(4);
      tasks.task({ retry: false }).call(flaky, 'fail');
      await tasks.onIdle();
      expect(flaky.calls).toBe(5);
      tasks.task({ retry: 2 }).call(flaky, 'fail');
      await jest.advanceTimersByTimeAsync(1000);
      await tasks.onIdle();
      expect(flaky.calls).toBe(7);
    });

    it('computes fixed, exponential, capped and jittered delays', () => {
      const exponential = toRetryPolicy({ attempts: 6, delay: 100, maxDelay: 1000 })!;
      expect([1, 2, 3, 4, 5].map((attempt) => retryDelay(exponential, attempt))).toEqual([100, 200, 400, 800, 1000]);
      const fixed = toRetryPolicy({ attempts: 3, delay: 250, backoff: 'fixed' })!;
      expect([1, 2].map((attempt) => retryDelay(fixed, attempt))).toEqual([250, 250]);
      const jittered = toRetryPolicy({ attempts: 3, delay: 100, jitter: true })!;
      expect(retryDelay(jittered, 2, () => 0)).toBe(100);
      expect(retryDelay(jittered, 2, () => 0.999999)).toBeCloseTo(200, 3);
      expect(toRetryPolicy(1)).toBeUndefined();
      expect(toRetryPolicy(false)).toBeUndefined();
      expect(toRetryPolicy(3)).toEqual({
        attempts: 3,
        delay: 1000,
        backoff: 'exponential',
        maxDelay: 30_000,
        jitter: false,
        retryIf: undefined,
      });
    });
  });

  describe('concurrency', () => {
    it('runs at most `concurrency` tasks of a group at once, first in first out, counting the queue in stats', async () => {
      ({ app, tasks } = await start());
      const gates = Array.from({ length: 5 }, () => gate());
      const started: number[] = [];
      let running = 0;
      let most = 0;
      for (const [index, held] of gates.entries()) {
        tasks.task({ name: 'email', concurrency: 2 }).schedule(async () => {
          started.push(index);
          most = Math.max(most, ++running);
          await held.promise;
          running--;
        });
      }
      await jest.advanceTimersByTimeAsync(0);
      expect(started).toEqual([0, 1]);
      expect(tasks.stats().groups.email).toMatchObject({ running: 2, queued: 3 });
      gates[1].open();
      await jest.advanceTimersByTimeAsync(0);
      expect(started).toEqual([0, 1, 2]);
      for (const held of gates) held.open();
      await tasks.onIdle();
      expect(started).toEqual([0, 1, 2, 3, 4]);
      expect(most).toBe(2);
      expect(tasks.stats().groups.email).toMatchObject({ running: 0, queued: 0, succeeded: 5 });
    });

    it('shares one limit across the tasks of a `group`, whatever their names', async () => {
      ({ app, tasks } = await start());
      const held = gate();
      const names = ['a', 'b', 'c'];
      for (const name of names) tasks.task({ name, group: 'smtp', concurrency: 1 }).schedule(() => held.promise);
      await jest.advanceTimersByTimeAsync(0);
      expect(tasks.stats().groups.smtp).toMatchObject({ running: 1, queued: 2 });
      expect(tasks.stats().groups.a).toBeUndefined();
      held.open();
      await tasks.onIdle();
      expect(tasks.stats().groups.smtp).toMatchObject({ succeeded: 3 });
    });

    it('bounds all groups together with maxConcurrency, starting the longest-waiting task first', async () => {
      ({ app, tasks } = await start({ maxConcurrency: 2 }));
      const order: string[] = [];
      const holds = new Map<string, ReturnType<typeof gate>>();
      const run = (name: string) =>
        tasks.task({ name }).schedule(() => {
          order.push(name);
          const held = gate();
          holds.set(name, held);
          return held.promise;
        });
      for (const name of ['a1', 'b1', 'a2', 'c1', 'b2']) run(name);
      await jest.advanceTimersByTimeAsync(0);
      expect(order).toEqual(['a1', 'b1']);
      expect(tasks.stats()).toMatchObject({ running: 2, queued: 3 });
      holds.get('b1')!.open();
      await jest.advanceTimersByTimeAsync(0);
      expect(order).toEqual(['a1', 'b1', 'a2']);
      holds.get('a1')!.open();
      await jest.advanceTimersByTimeAsync(0);
      expect(order).toEqual(['a1', 'b1', 'a2', 'c1']);
      for (const held of holds.values()) held.open();
      await jest.advanceTimersByTimeAsync(0);
      for (const held of holds.values()) held.open();
      await tasks.onIdle();
      expect(order).toEqual(['a1', 'b1', 'a2', 'c1', 'b2']);
    });

    it('frees the slot of a task waiting to retry, and queues its next attempt behind the waiting tasks', async () => {
      ({ app, tasks } = await start());
      const order: string[] = [];
      let failed = false;
      const limited = tasks.task({ group: 'g', concurrency: 1 });
      limited.task({ name: 'flaky', retry: { attempts: 2, delay: 10 } }).schedule(() => {
        order.push('flaky');
        if (!failed) {
          failed = true;
          throw new Error('once');
        }
      });
      const held = gate();
      limited.task({ name: 'slow' }).schedule(() => {
        order.push('slow');
        return held.promise;
      });
      await jest.advanceTimersByTimeAsync(0);
      expect(order).toEqual(['flaky', 'slow']);
      await jest.advanceTimersByTimeAsync(10);
      expect(tasks.stats().groups.g).toMatchObject({ running: 1, queued: 1, retrying: 0 });
      held.open();
      await tasks.onIdle();
      expect(order).toEqual(['flaky', 'slow', 'flaky']);
    });

    it('refuses a task over queueLimit at the call with a TaskQueueFullError naming the group and counts', async () => {
      ({ app, tasks } = await start());
      const held = gate();
      const limited = tasks.task({ name: 'report', concurrency: 1, queueLimit: 2 });
      for (let i = 0; i < 3; i++) limited.schedule(() => held.promise);
      let refused: unknown;
      try {
        limited.schedule(() => held.promise);
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(TaskQueueFullError);
      expect(refused).toBeInstanceOf(TasksError);
      expect(refused).toMatchObject({ taskName: 'report', group: 'report', queueLimit: 2, queued: 2, pending: 0 });
      expect((refused as Error).message).toBe(messages.queueFull('report', 'report', 2, 2, 0));
      expect(tasks.stats()).toMatchObject({ running: 1, queued: 2, dropped: 0 });
      held.open();
      await tasks.onIdle();
      expect(tasks.stats().groups.report).toMatchObject({ succeeded: 3 });
      limited.schedule(() => undefined);
      await tasks.onIdle();
      expect(tasks.stats().groups.report).toMatchObject({ succeeded: 4 });
    });

    it('admits a task that finds a free slot even with queueLimit 0', async () => {
      ({ app, tasks } = await start());
      const limited = tasks.task({ name: 'now-or-never', concurrency: 1, queueLimit: 0 });
      const held = gate();
      limited.schedule(() => held.promise);
      expect(() => limited.schedule(() => undefined)).toThrow(TaskQueueFullError);
      held.open();
      await tasks.onIdle();
      expect(tasks.stats()).toMatchObject({ succeeded: 1 });
    });
  });

  describe('shutdown', () => {
    it('drops queued and retrying unshielded tasks with a debug line, and neither runs nor reports them', async () => {
      ({ app, tasks, logger } = await start());
      const onError = jest.fn<(task: ScheduledTask, error: unknown) => void>();
      const held = gate();
      const limited = tasks.task({ name: 'q', concurrency: 1, onError, shield: true });
      limited.schedule(() => held.promise);
      const ran: string[] = [];
      tasks.task({ name: 'q', concurrency: 1, onError }).schedule(() => void ran.push('queued'));
      tasks.task({ name: 'r', retry: { attempts: 2, delay: 50 }, onError }).schedule(() => {
        ran.push('retry');
        throw new Error('first');
      });
      await jest.advanceTimersByTimeAsync(0);
      const closing = tasks.drained();
      expect(text(logger, 'debug')).toEqual([messages.droppedShutdown('q'), messages.droppedRetrying('r', 1)]);
      held.open();
      await closing;
      await jest.advanceTimersByTimeAsync(100);
      expect(ran).toEqual(['retry']);
      expect(onError).not.toHaveBeenCalled();
      expect(tasks.stats()).toMatchObject({ dropped: 2, succeeded: 1, shuttingDown: true });
    });

    it('runs queued shielded tasks within their limit, and keeps retrying shielded tasks, before the drain resolves', async () => {
      ({ app, tasks } = await start());
      const order: string[] = [];
      const limited = tasks.task({ name: 'ledger', concurrency: 1, shield: true });
      for (const id of ['1', '2', '3']) limited.schedule(async () => void order.push(id));
      let failures = 0;
      tasks.task({ name: 'sync', shield: true, retry: { attempts: 3, delay: 100 } }).schedule(() => {
        if (++failures < 3) throw new Error('not yet');
        order.push('sync');
      });
      await jest.advanceTimersByTimeAsync(0);
      let drained = false;
      void tasks.drained().then(() => (drained = true));
      await jest.advanceTimersByTimeAsync(100);
      expect(drained).toBe(false);
      await jest.advanceTimersByTimeAsync(200);
      expect(drained).toBe(true);
      expect(order).toEqual(['1', '2', '3', 'sync']);
    });

    it('drops shielded tasks still waiting at shutdownTimeout and names them', async () => {
      ({ app, tasks, logger } = await start({ shutdownTimeout: 500 }));
      tasks
        .task({ name: 'stubborn', shield: true, retry: { attempts: 10, delay: 400, backoff: 'fixed' } })
        .schedule(() => {
          throw new Error('down');
        });
      await jest.advanceTimersByTimeAsync(0);
      const drained = tasks.drained();
      await jest.advanceTimersByTimeAsync(500);
      await drained;
      expect(text(logger, 'warn')).toContain(messages.shutdownDeadline(500, ['stubborn']));
      expect(tasks.stats()).toMatchObject({ retrying: 0, dropped: 1 });
      expect(() => tasks.task({ shield: true }).schedule(() => undefined)).toThrow(TasksError);
    });
  });

  describe('stats()', () => {
    it('counts every task once, in total and per group, and adds up to the tasks scheduled', async () => {
      ({ app, tasks } = await start({ onError: () => undefined }));
      tasks.task({ name: 'ok' }).schedule(() => undefined);
      tasks.task({ name: 'ok' }).schedule(async () => undefined);
      tasks.task({ name: 'bad' }).schedule(() => {
        throw new Error('x');
      });
      tasks.task({ name: 'slow', timeout: 10 }).schedule(() => new Promise(() => undefined));
      await jest.advanceTimersByTimeAsync(10);
      await tasks.onIdle();
      const stats = tasks.stats();
      expect(stats).toEqual({
        pending: 0,
        queued: 0,
        running: 0,
        retrying: 0,
        succeeded: 2,
        failed: 1,
        timedOut: 1,
        dropped: 0,
        aborted: 0,
        shuttingDown: false,
        groups: {
          ok: expect.objectContaining({ succeeded: 2 }),
          bad: expect.objectContaining({ failed: 1 }),
          slow: expect.objectContaining({ timedOut: 1 }),
        },
      });
    });

    it('counts a task stopped by the shutdown abort as aborted', async () => {
      ({ app, tasks } = await start());
      tasks.schedule(
        () =>
          new Promise((_, reject) => {
            const signal = currentTask()!.signal;
            signal.addEventListener('abort', () => reject(signal.reason as Error));
          }),
      );
      await jest.advanceTimersByTimeAsync(0);
      await tasks.drained();
      await tasks.onIdle();
      expect(tasks.stats()).toMatchObject({ aborted: 1, failed: 0 });
    });

    it('forgets idle groups beyond 1,000, keeping their counts in the totals', async () => {
      ({ app, tasks } = await start());
      for (let i = 0; i < 1500; i++) tasks.task({ name: `job_${i}` }).schedule(() => undefined);
      await tasks.onIdle();
      const stats = tasks.stats();
      expect(stats.succeeded).toBe(1500);
      expect(Object.keys(stats.groups).length).toBeLessThanOrEqual(1000);
      expect(stats.groups.job_1499).toMatchObject({ succeeded: 1 });
    });
  });

  it('starts queued tasks and later attempts in the async context where the task was scheduled', async () => {
    ({ app, tasks } = await start());
    const store = new AsyncLocalStorage<string>();
    const seen: string[] = [];
    const held = gate();
    const limited = tasks.task({ name: 'ctx', concurrency: 1, retry: { attempts: 2, delay: 5 } });
    store.run('first', () => limited.schedule(() => held.promise));
    store.run('second', () =>
      limited.schedule(() => {
        seen.push(`${store.getStore()}:${currentTask()!.attempt}`);
        if (currentTask()!.attempt === 1) throw new Error('again');
      }),
    );
    await jest.advanceTimersByTimeAsync(0);
    held.open();
    await jest.advanceTimersByTimeAsync(10);
    await tasks.onIdle();
    expect(seen).toEqual(['second:1', 'second:2']);
  });

  it.each([
    [
      { timeout: 0 },
      messages.expected('`timeout`', 'a number of milliseconds > 0, or Infinity for none (or undefined)', 0),
    ],
    [{ concurrency: 0 }, messages.expected('`concurrency`', 'an integer >= 1, or Infinity (or undefined)', 0)],
    [{ queueLimit: -1 }, messages.expected('`queueLimit`', 'an integer >= 0, or Infinity (or undefined)', -1)],
    [{ group: 3 }, messages.expected('`group`', 'a string or undefined', 3)],
    [{ retry: 0 }, messages.expected('`retry`', 'an integer >= 1 (the attempts in all, the first included)', 0)],
    [{ retry: true }, messages.badRetry(true)],
    [
      { retry: { attempts: 2, backoff: 'linear' } },
      messages.expected('`retry.backoff`', "'fixed' or 'exponential' (or undefined)", 'linear'),
    ],
    [
      { retry: { attempts: 2, tries: 3 } },
      messages.unknownOption('tries', '`retry`', ['attempts', 'delay', 'backoff', 'maxDelay', 'jitter', 'retryIf']),
    ],
  ])('refuses %p at .task(), @Task() and forRoot(), naming the value', async (options, message) => {
    ({ app, tasks } = await start());
    expect(() => tasks.task(options as never)).toThrow(new TasksError(message));
    expect(() => Task(options as never)).toThrow(new TasksError(message));
    expect(() => TasksModule.forRoot(options as never)).toThrow(new TasksError(message));
  });

  it('gives one module for equal control options and another when any differs', () => {
    const retryIf = () => true;
    const options = { timeout: 100, retry: { attempts: 2, retryIf }, concurrency: 2, maxConcurrency: 4 };
    expect(TasksModule.forRoot({ ...options })).toBe(TasksModule.forRoot({ ...options }));
    for (const change of [
      { timeout: 200 },
      { retry: { attempts: 2, retryIf: () => true } },
      { retry: 3 },
      { concurrency: 3 },
      { queueLimit: 5 },
      { group: 'g' },
      { maxConcurrency: 5 },
    ]) {
      expect(TasksModule.forRoot({ ...options, ...change })).not.toBe(TasksModule.forRoot(options));
    }
    app = undefined as never;
  });

  it('refuses a bad maxConcurrency at forRoot, and accepts a numeric string', () => {
    expect(() => TasksModule.forRoot({ maxConcurrency: 0 })).toThrow(new TasksError(messages.badMaxConcurrency(0)));
    expect(() => TasksModule.forRoot({ maxConcurrency: '4' })).not.toThrow();
    app = undefined as never;
  });
});
