/**
 * A small app run as a child process by the process-level tests:
 * `node dist-test/test/process/server.js` with ADAPTER, RECORD_FILE and SHUTDOWN_TIMEOUT set.
 * Prints `READY <url>` once listening on 127.0.0.1.
 */
import 'reflect-metadata';
import { Controller, Get, InternalServerErrorException, Module, Param, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { appendFileSync } from 'node:fs';
import { TasksModule, TasksService, currentTask } from '../../lib/index.js';

const recordFile = process.env.RECORD_FILE ?? '/dev/null';
const shutdownTimeout = Number(process.env.SHUTDOWN_TIMEOUT ?? 3000);
const record = (line: string) => appendFileSync(recordFile, `${line}\n`);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Shielded work: appends its id after an await. */
async function persist(kind: string, id: string): Promise<void> {
  await pause(Math.random() * 20);
  record(`${kind}:${id}`);
}

/** Unshielded work that takes a while and records whether shutdown aborted it. */
async function unshielded(id: string): Promise<void> {
  const signal = currentTask()?.signal;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 300);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
  if (signal?.aborted) record(`aborted:${id}`);
}

const gc = (globalThis as { gc?: () => void }).gc;
const sampled: WeakRef<object>[] = [];
let memRequests = 0;
const empty = async (): Promise<void> => undefined;
/** Responses sampled (one in 100) on the routes that leave something behind, by route. */
const leftBehind = { timer: [] as WeakRef<object>[], failed: [] as WeakRef<object>[] };
const counts = { timer: 0, failed: 0 };
const sample = (route: keyof typeof leftBehind, response: object) => {
  if (counts[route]++ % 100 === 0) leftBehind[route].push(new WeakRef(rawOf(response)));
};
/** The raw `ServerResponse` (what the library sees), not Fastify's `Reply` around it. */
const rawOf = (response: object): object => ('raw' in response ? (response.raw as object) : response);
/** Long-lived timers made in requests: each holds its request's async context (the task store). */
const timers: NodeJS.Timeout[] = [];
const alive = (refs: WeakRef<object>[]) => refs.filter((ref) => ref.deref() !== undefined).length;

@Controller()
class LoadController {
  constructor(private readonly tasks: TasksService) {}

  @Get('order/:id')
  order(@Param('id') id: string) {
    this.tasks.task({ name: `imm_${id}`, shield: true }).schedule(persist, 'imm', id);
    this.tasks.afterResponse.task({ name: `ar_${id}`, shield: true }).schedule(persist, 'ar', id);
    this.tasks.task({ name: `unshielded_${id}` }).schedule(unshielded, id);
    return { id };
  }

  @Get('stuck')
  stuck() {
    this.tasks.task({ name: 'stuck_task', shield: true }).schedule(() => new Promise<void>(() => undefined));
    return { stuck: true };
  }

  @Get('mem')
  mem(@Res({ passthrough: true }) response: object) {
    if (memRequests++ % 1000 === 0) sampled.push(new WeakRef(rawOf(response)));
    this.tasks.schedule(empty);
    this.tasks.afterRoute.schedule(empty);
    this.tasks.afterResponse.schedule(empty);
    return { ok: true };
  }

  /** Like `mem`, and leaves a 10-minute timer (a cache TTL, a pool's idle timer) made in the request. */
  @Get('mem-timer')
  memTimer(@Res({ passthrough: true }) response: object) {
    sample('timer', response);
    this.tasks.schedule(empty);
    this.tasks.afterRoute.schedule(empty);
    this.tasks.afterResponse.schedule(empty);
    timers.push(setTimeout(() => undefined, 10 * 60_000).unref());
    return { ok: true };
  }

  /**
   * A failed request that also leaves a 10-minute timer: its deferred tasks are dropped. (An
   * HttpException, so Nest logs nothing.)
   */
  @Get('mem-failed')
  memFailed(@Res({ passthrough: true }) response: object) {
    sample('failed', response);
    this.tasks.schedule(empty);
    this.tasks.afterRoute.schedule(empty);
    this.tasks.afterResponse.schedule(empty);
    timers.push(setTimeout(() => undefined, 10 * 60_000).unref());
    throw new InternalServerErrorException('failed on purpose');
  }

  @Get('timers/clear')
  clearTimers() {
    for (const timer of timers.splice(0)) clearTimeout(timer);
    return { cleared: true };
  }

  /** Settles every task, collects garbage, and reports the heap and the sampled responses still alive. */
  @Get('heap')
  async heap() {
    await this.tasks.onIdle();
    for (let i = 0; i < 3; i++) {
      await pause(10);
      gc?.();
    }
    return {
      heapUsed: process.memoryUsage().heapUsed,
      sampled: sampled.length,
      alive: alive(sampled),
      gc: gc !== undefined,
      timers: timers.length,
      timer: { sampled: leftBehind.timer.length, alive: alive(leftBehind.timer) },
      failed: { sampled: leftBehind.failed.length, alive: alive(leftBehind.failed) },
    };
  }
}

@Module({
  imports: [TasksModule.forRoot({ shutdownTimeout })],
  controllers: [LoadController],
})
class LoadModule {}

const adapter = process.env.ADAPTER === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
const app = await NestFactory.create(LoadModule, adapter, { logger: ['log', 'warn', 'error'] });
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
process.stdout.write(`READY ${(await app.getUrl()).replace('[::1]', '127.0.0.1')}\n`);
