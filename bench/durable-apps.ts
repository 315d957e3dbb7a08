import 'reflect-metadata';
import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Res,
  type DynamicModule,
  type INestApplication,
  type OnModuleDestroy,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Task, TasksModule, TasksService } from '../lib/index.js';
import { DurableTasksModule } from '../lib/bullmq/index.js';
import { BENCH_JOB, BENCH_QUEUE, type DurableRoute, type WorkerKind } from './durable-kinds.js';
import type { Adapter } from './variants.js';

const HELLO = { hello: 'world' };
const REDIS_PORT = Symbol('REDIS_PORT');

/** What every bench job does, on either worker: nothing, asynchronously. */
export const work = async (_id: string): Promise<void> => undefined;

/** The Redis connection options both sides of each comparison are given. */
export const benchConnection = (port: number): ConnectionOptions => ({ host: '127.0.0.1', port });

/** The job both routes store, as `DurableTasksModule` stores it: the arguments and the mode. */
export const jobData = (id: string) => ({ args: [id], mode: 'afterResponse' as const });

/** The bench's durable task: runs `work` on whichever worker takes its job. */
@Injectable()
class Receipts {
  @Task({ name: BENCH_JOB, durable: true })
  send(id: string): Promise<void> {
    return work(id);
  }
}

/** One durable afterResponse task per request: the hand-off to Redis happens after the response. */
@Controller()
class DurableTaskController {
  private sent = 0;
  constructor(
    private readonly tasks: TasksService,
    private readonly receipts: Receipts,
  ) {}

  @Get() hello() {
    this.tasks.afterResponse.schedule(this.receipts.send, String(++this.sent));
    return HELLO;
  }
}

/** The queue a hand-written route adds to, closed with the app. */
@Injectable()
class HandQueue implements OnModuleDestroy {
  readonly queue: Queue;
  constructor(@Inject(REDIS_PORT) port: number) {
    this.queue = new Queue(BENCH_QUEUE, { connection: benchConnection(port) });
  }
  async onModuleDestroy(): Promise<void> {
    await this.queue.close();
  }
}

/**
 * The same job added by hand in the handler, the cheapest way: not awaited (the response does not
 * wait for Redis, as with the durable task), same data and a random job id, as the library sends.
 */
@Controller()
class QueueAddController {
  private sent = 0;
  constructor(private readonly hand: HandQueue) {}

  @Get() hello() {
    const id = String(++this.sent);
    void this.hand.queue.add(BENCH_JOB, jobData(id), { jobId: randomUUID() }).catch((error: unknown) => {
      console.error('queue.add failed', error);
    });
    return HELLO;
  }
}

/** Reference: the same `queue.add()` in a plain (not durable) afterResponse task. */
@Controller()
class AfterResponseAddController {
  private sent = 0;
  constructor(
    private readonly tasks: TasksService,
    private readonly hand: HandQueue,
  ) {}

  @Get() hello() {
    const id = String(++this.sent);
    this.tasks.afterResponse.schedule(() => this.hand.queue.add(BENCH_JOB, jobData(id), { jobId: randomUUID() }));
    return HELLO;
  }
}

/** Reference: the same `queue.add()` after the response by hand, on the raw response's `close` event. */
@Controller()
class CloseAddController {
  private sent = 0;
  constructor(private readonly hand: HandQueue) {}

  @Get() hello(@Res({ passthrough: true }) res: { raw?: ServerResponse } & ServerResponse) {
    const id = String(++this.sent);
    (res.raw ?? res).once('close', () => {
      this.hand.queue.add(BENCH_JOB, jobData(id), { jobId: randomUUID() }).catch((error: unknown) => {
        console.error('queue.add failed', error);
      });
    });
    return HELLO;
  }
}

@Module({})
class CloseAddRouteModule {}

@Module({})
class DurableTaskRouteModule {}

@Module({})
class AfterResponseAddRouteModule {}

@Module({})
class QueueAddRouteModule {}

@Module({})
class WorkerModule {}

function routeModule(route: DurableRoute, port: number): DynamicModule {
  if (route === 'closeAdd') {
    return {
      module: CloseAddRouteModule,
      controllers: [CloseAddController],
      providers: [{ provide: REDIS_PORT, useValue: port }, HandQueue],
    };
  }
  if (route === 'afterResponseAdd') {
    return {
      module: AfterResponseAddRouteModule,
      imports: [TasksModule.forRoot()],
      controllers: [AfterResponseAddController],
      providers: [{ provide: REDIS_PORT, useValue: port }, HandQueue],
    };
  }
  if (route === 'queueAdd') {
    return {
      module: QueueAddRouteModule,
      controllers: [QueueAddController],
      providers: [{ provide: REDIS_PORT, useValue: port }, HandQueue],
    };
  }
  return {
    module: DurableTaskRouteModule,
    imports: [
      TasksModule.forRoot(),
      DurableTasksModule.forRoot({ connection: benchConnection(port), queue: BENCH_QUEUE, worker: false }),
    ],
    controllers: [DurableTaskController],
    providers: [Receipts],
  };
}

/** Starts one durable route on 127.0.0.1 (ephemeral port) against Redis on `redisPort`. */
export async function startDurableRoute(
  adapter: Adapter,
  route: DurableRoute,
  redisPort: number,
): Promise<{ url: string; app: INestApplication }> {
  const httpAdapter = adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  const app = await NestFactory.create(routeModule(route, redisPort), httpAdapter, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { url, app };
}

/** A running bench worker. */
export interface BenchWorker {
  close(): Promise<void>;
}

/**
 * Starts a worker of `kind` on the bench queue: the library's (a Nest application context with
 * `DurableTasksModule`, `worker: { concurrency }`) or a plain BullMQ `Worker` running `work`.
 */
export async function startWorker(kind: WorkerKind, redisPort: number, concurrency: number): Promise<BenchWorker> {
  const connection = benchConnection(redisPort);
  if (kind === 'plain') {
    const worker = new Worker(BENCH_QUEUE, (job: Job<{ args: [string] }>) => work(job.data.args[0]), {
      connection,
      concurrency,
    });
    worker.on('error', (error) => console.error('plain worker', error));
    return { close: () => worker.close() };
  }
  const module: DynamicModule = {
    module: WorkerModule,
    imports: [
      TasksModule.forRoot(),
      DurableTasksModule.forRoot({ connection, queue: BENCH_QUEUE, worker: { concurrency } }),
    ],
    providers: [Receipts],
  };
  const app = await NestFactory.createApplicationContext(module, { logger: ['error', 'warn'] });
  return { close: () => app.close() };
}
