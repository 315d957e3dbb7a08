import 'reflect-metadata';
import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { ConsoleLogger, Module } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { TasksModule, TasksService, type TasksModuleOptions } from '../../lib/index.js';

/** Every HTTP case runs on both adapters. */
export const adapters = ['express', 'fastify'] as const;

export type AdapterName = (typeof adapters)[number];

const createAdapter = { express: () => new ExpressAdapter(), fastify: () => new FastifyAdapter() };

/** One log line as the app's logger received it. */
export interface LogLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  rest: unknown[];
}

/**
 * A logger that keeps every line, including debug, so tests can assert on them. It is Nest's
 * ConsoleLogger that records instead of printing, so nestjs-tasks writes it the text lines it
 * writes to Nest's default logger (test/logging.spec.ts covers the records other loggers get).
 */
export class RecordingLogger extends ConsoleLogger implements LoggerService {
  readonly lines: LogLine[] = [];
  private waiters: { accepts: (line: LogLine) => boolean; resolve: () => void }[] = [];
  override log(message: unknown, ...rest: unknown[]) {
    this.push('log', message, rest);
  }
  override error(message: unknown, ...rest: unknown[]) {
    this.push('error', message, rest);
  }
  override warn(message: unknown, ...rest: unknown[]) {
    this.push('warn', message, rest);
  }
  override debug(message: unknown, ...rest: unknown[]) {
    this.push('debug', message, rest);
  }
  override verbose(message: unknown, ...rest: unknown[]) {
    this.push('verbose', message, rest);
  }
  override fatal(message: unknown, ...rest: unknown[]) {
    this.push('fatal', message, rest);
  }

  /** Lines of one level written by nestjs-tasks (context `Tasks`). */
  tasks(level: LogLine['level']): LogLine[] {
    return this.lines.filter((line) => line.level === level && line.rest.includes('Tasks'));
  }

  /**
   * Resolves once a line matches: one with exactly `match` as its message, or one `match`
   * accepts; rejects after `timeoutMs`, with `failure` if given.
   */
  waitForLine(match: string | ((line: LogLine) => boolean), timeoutMs = 5000, failure?: string): Promise<void> {
    const accepts = typeof match === 'string' ? (line: LogLine) => line.message === match : match;
    if (this.lines.some(accepts)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { accepts, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((candidate) => candidate !== waiter);
        reject(new Error(failure ?? `timed out waiting for log line "${String(match)}"`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private push(level: LogLine['level'], message: unknown, rest: unknown[]) {
    const line: LogLine = { level, message: String(message), rest };
    this.lines.push(line);
    const met = this.waiters.filter((waiter) => waiter.accepts(line));
    if (met.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => !met.includes(waiter));
    for (const waiter of met) waiter.resolve();
  }
}

export interface TestApp {
  app: INestApplication;
  http: ReturnType<typeof request>;
  tasks: TasksService;
  logger: RecordingLogger;
  url: string;
  get<T>(type: new (...args: never[]) => T): T;
}

export interface StartOptions extends Pick<ModuleMetadata, 'controllers' | 'providers' | 'imports'> {
  tasks?: TasksModuleOptions;
  /** Import this instead of TasksModule.forRoot(tasks). */
  tasksModule?: ModuleMetadata['imports'];
  /** Use this adapter instead of a default one of `adapterName` (e.g. Fastify with `http2: true`). */
  adapter?: AbstractHttpAdapter;
  /** Runs before `listen()`, as `main.ts` code does (e.g. `app.use(middleware)`). */
  beforeListen?: (app: INestApplication) => void;
}

/** Boots a real Nest app on 127.0.0.1 with an ephemeral port. */
export async function startApp(adapterName: AdapterName, options: StartOptions): Promise<TestApp> {
  @Module({
    imports: [...(options.tasksModule ?? [TasksModule.forRoot(options.tasks)]), ...(options.imports ?? [])],
    controllers: options.controllers ?? [],
    providers: options.providers ?? [],
  })
  class TestAppModule {}

  const moduleRef = await Test.createTestingModule({ imports: [TestAppModule] }).compile();
  const adapter = options.adapter ?? createAdapter[adapterName]();
  const logger = new RecordingLogger();
  const app = moduleRef.createNestApplication(adapter, { logger });
  options.beforeListen?.(app);
  await app.listen(0, '127.0.0.1');
  if (adapterName === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  const url = await app.getUrl();
  return {
    app,
    http: request(url.replace('[::1]', '127.0.0.1')),
    tasks: app.get(TasksService),
    logger,
    url,
    get: (type) => app.get(type),
  };
}
