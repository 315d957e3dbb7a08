import { afterEach, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Module, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoNestLogger, LoggerModule } from 'nestjs-pino';
import { Writable } from 'node:stream';
import { TaskLogRecord, TasksError, TasksModule, TasksService, type TasksModuleOptions } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { PlanController, plan } from './app/plan.controller.js';
import { Probe } from './app/probe.js';

/** Nest's own console logger, recording what it is asked to print instead of printing it. */
class RecordingConsoleLogger extends ConsoleLogger {
  readonly calls: { level: string; args: unknown[] }[] = [];
  override log(...args: unknown[]) {
    this.calls.push({ level: 'log', args });
  }
  override warn(...args: unknown[]) {
    this.calls.push({ level: 'warn', args });
  }
  override error(...args: unknown[]) {
    this.calls.push({ level: 'error', args });
  }
  override debug(...args: unknown[]) {
    this.calls.push({ level: 'debug', args });
  }
}

/** A pino destination keeping each JSON line. */
class Lines extends Writable {
  readonly records: Record<string, unknown>[] = [];
  private waiters: { msg: string; resolve: () => void }[] = [];
  override _write(chunk: Buffer, _: string, done: () => void) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      const record = JSON.parse(line) as Record<string, unknown>;
      this.records.push(record);
      for (const waiter of this.waiters.filter((candidate) => candidate.msg === record.msg)) waiter.resolve();
    }
    done();
  }
  tasks(): Record<string, unknown>[] {
    return this.records.filter((record) => record.context === 'Tasks');
  }
  /** Resolves once a line with this `msg` is written; rejects after 5 s. */
  waitFor(msg: string): Promise<void> {
    if (this.records.some((record) => record.msg === msg)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line "${msg}"`)), 5000);
      this.waiters.push({ msg, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

/** A logger of the app's own, not Nest's ConsoleLogger: it gets records. */
class PlainLogger implements LoggerService {
  readonly lines: { level: string; message: unknown; rest: unknown[] }[] = [];
  log(message: unknown, ...rest: unknown[]) {
    this.lines.push({ level: 'log', message, rest });
  }
  error(message: unknown, ...rest: unknown[]) {
    this.lines.push({ level: 'error', message, rest });
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.lines.push({ level: 'warn', message, rest });
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.lines.push({ level: 'debug', message, rest });
  }
}

const failing = () => {
  throw new Error('smtp down');
};

describe('log lines', () => {
  let app: INestApplicationContext;
  afterEach(() => app?.close());

  const standalone = async (logger: LoggerService, options: TasksModuleOptions = {}) => {
    @Module({ imports: [TasksModule.forRoot(options)] })
    class LoggingModule {}
    app = await NestFactory.createApplicationContext(LoggingModule, { logger });
    return app.get(TasksService);
  };

  it("keeps readable text, and the stack as the next argument, for Nest's ConsoleLogger", async () => {
    const logger = new RecordingConsoleLogger();
    const tasks = await standalone(logger);
    tasks.task({ name: 'mail' }).schedule(failing);
    await tasks.onIdle();
    const line = logger.calls.find((call) => call.level === 'error' && call.args.includes('Tasks'));
    expect(line?.args[0]).toBe(messages.taskFailed('mail', new Error('smtp down')));
    expect(String(line?.args[1])).toMatch(/^Error: smtp down\n\s+at /);
  });

  it('passes a record with the task fields to another logger, whose String() is still the text', async () => {
    const logger = new PlainLogger();
    const tasks = await standalone(logger, { retry: { attempts: 2, delay: 1 } });
    tasks.task({ name: 'mail', group: 'smtp' }).schedule(failing);
    await tasks.onIdle();
    const retry = logger.lines.find((line) => line.level === 'warn')!;
    const failed = logger.lines.find((line) => line.level === 'error')!;
    expect(retry.message).toBeInstanceOf(TaskLogRecord);
    expect(retry.message).toMatchObject({ task: 'mail', group: 'smtp', attempt: 1, outcome: 'retrying', delay: 1 });
    expect(String(retry.message)).toBe(messages.retrying('mail', 1, 2, 1, new Error('smtp down')));
    expect(failed.message).toMatchObject({
      msg: messages.taskFailed('mail', new Error('smtp down')),
      task: 'mail',
      mode: 'immediate',
      attempt: 2,
      outcome: 'failed',
      err: new Error('smtp down'),
    });
    // Nest's Logger passes `undefined` where the stack would be: the record's `err` carries it.
    expect(failed.rest).toEqual([undefined, 'Tasks']);
  });

  it("writes text to any logger with logFormat: 'text'", async () => {
    const logger = new PlainLogger();
    const tasks = await standalone(logger, { logFormat: 'text' });
    tasks.task({ name: 'mail' }).schedule(failing);
    await tasks.onIdle();
    const line = logger.lines.find((candidate) => candidate.level === 'error')!;
    expect(line.message).toBe(messages.taskFailed('mail', new Error('smtp down')));
    expect(line.rest).toEqual([expect.stringMatching(/^Error: smtp down\n/), 'Tasks']);
  });

  it("writes records even to Nest's ConsoleLogger with logFormat: 'object'", async () => {
    const logger = new RecordingConsoleLogger();
    const tasks = await standalone(logger, { logFormat: 'object' });
    tasks.task({ name: 'mail' }).schedule(failing);
    await tasks.onIdle();
    const record = logger.calls.find((call) => call.level === 'error')?.args[0];
    expect(record).toBeInstanceOf(TaskLogRecord);
    expect(record).toMatchObject({
      msg: messages.taskFailed('mail', new Error('smtp down')),
      task: 'mail',
      outcome: 'failed',
    });
    expect(String(record)).toBe(messages.taskFailed('mail', new Error('smtp down')));
  });

  it('refuses an unknown logFormat at forRoot', () => {
    expect(() => TasksModule.forRoot({ logFormat: 'json' as never })).toThrow(
      new TasksError(messages.expected('`logFormat`', "'auto', 'text' or 'object' (or undefined)", 'json')),
    );
    app = undefined as never;
  });
});

/**
 * One destination for the whole file: nestjs-pino keeps the first app's root logger for the rest of
 * the process, so lines written outside a request's context (at start-up, at shutdown, from a
 * response's close event on Fastify) go to the first stream it was given.
 */
const lines = new Lines();

describe.each(adapters)('log lines through nestjs-pino on %s', (adapter) => {
  let t: TestApp;
  afterEach(() => t.app.close());

  const start = async (tasks?: TasksModuleOptions) => {
    lines.records.length = 0;
    t = await startApp(adapter, {
      controllers: [PlanController],
      providers: [Probe],
      tasks,
      imports: [LoggerModule.forRoot({ pinoHttp: { level: 'debug', autoLogging: false, stream: lines } })],
      beforeListen: (app) => app.useLogger(app.get(PinoNestLogger)),
    });
  };

  it('logs task name, mode, attempt, group, outcome and the error as fields', async () => {
    await start({ retry: { attempts: 2, delay: 1 } });
    plan.run = (tasks) => {
      tasks.afterResponse.task({ name: 'receipt', group: 'mail' }).schedule(failing);
    };
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    const [retry, failed] = lines.tasks();
    expect(retry).toMatchObject({
      level: 40,
      msg: messages.retrying('receipt', 1, 2, 1, new Error('smtp down')),
      task: 'receipt',
      mode: 'afterResponse',
      attempt: 1,
      group: 'mail',
      outcome: 'retrying',
      delay: 1,
    });
    expect(failed).toMatchObject({
      level: 50,
      msg: messages.taskFailed('receipt', new Error('smtp down')),
      task: 'receipt',
      mode: 'afterResponse',
      attempt: 2,
      outcome: 'failed',
      err: { type: 'Error', message: 'smtp down', stack: expect.stringMatching(/^Error: smtp down\n/) },
    });
  });

  it('logs a dropped task at debug with its outcome, and one line when the drain ends', async () => {
    await start();
    plan.run = (tasks) => {
      tasks.afterResponse.task({ name: 'late' }).schedule(() => undefined);
      throw new Error('handler failed');
    };
    await t.http.get('/plan').expect(500);
    await t.tasks.onIdle();
    expect(lines.tasks()).toContainEqual(
      expect.objectContaining({
        level: 20,
        task: 'late',
        outcome: 'dropped',
        msg: messages.droppedFailedRequest('late', 'afterResponse'),
      }),
    );
    let release!: () => void;
    plan.run = (tasks) => {
      tasks.task({ name: 'ledger', shield: true }).schedule(() => new Promise<void>((resolve) => (release = resolve)));
    };
    await t.http.get('/plan').expect(200);
    const closing = t.app.close();
    await lines.waitFor(messages.shutdownWaiting(1, 30_000));
    release();
    await closing;
    const drained = lines.tasks().find((record) => typeof record.msg === 'string' && record.msg.startsWith('Drained'));
    expect(drained).toMatchObject({ level: 30, shielded: 1, msg: messages.drained(1, drained!.ms as number) });
  });
});
