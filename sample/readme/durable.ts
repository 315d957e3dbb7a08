// The README's "When one process is not enough" examples, compiled by `npm run typecheck`
// (test/readme.spec.ts checks that each is here, as one run of lines).
import { Controller, Injectable, Module, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Cluster } from 'ioredis';
import { Task, TasksModule, TasksService } from 'nestjs-tasks';
import { DurableTasksModule, currentDurableTask } from 'nestjs-tasks/bullmq';
import { ConfigModule, ConfigService } from './stubs.js';

declare const mailer: { send(orderId: string, options: { idempotencyKey: string }): Promise<void> };

@Injectable()
export class Receipts {
  @Task({ name: 'send_receipt', durable: true, retry: { attempts: 5, backoff: 'exponential', delay: 1000 } })
  async sendReceipt(orderId: string) {
    const jobId = currentDurableTask()?.jobId; // the same on every attempt, and after a crash
    await mailer.send(orderId, { idempotencyKey: jobId ?? orderId });
  }
}

@Controller('orders')
export class OrdersController {
  constructor(
    private readonly tasks: TasksService,
    private readonly receipts: Receipts,
  ) {}

  @Post(':id/pay')
  pay(@Param('id') id: string) {
    this.tasks.afterResponse.call(this.receipts, 'sendReceipt', id); // the call site does not change
    return { id };
  }
}

@Module({
  imports: [
    TasksModule.forRoot(),
    DurableTasksModule.forRoot({ connection: { host: '127.0.0.1', port: 6379 }, queue: 'tasks', worker: false }),
  ],
  controllers: [OrdersController],
  providers: [Receipts],
})
export class WebModule {}

@Module({
  imports: [
    TasksModule.forRoot({ shutdownTimeout: 30_000 }),
    DurableTasksModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        connection: { host: config.get<string>('REDIS_HOST'), port: 6379 },
        queue: 'tasks',
        worker: { concurrency: 20 },
      }),
    }),
  ],
  providers: [Receipts],
})
export class WorkerModule {}

export async function bootstrapWorker() {
  // worker.ts: no HTTP server, only the worker
  const app = await NestFactory.createApplicationContext(WorkerModule);
  app.enableShutdownHooks();
}

export function redisDeployments() {
  // Redis Sentinel: ioredis' Sentinel options
  const sentinel = DurableTasksModule.forRoot({
    connection: {
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: 'sentinel-2', port: 26379 },
      ],
      name: 'mymaster',
    },
    queue: 'tasks',
  });
  // Redis Cluster: an ioredis Cluster (BullMQ's workers need maxRetriesPerRequest: null)
  const cluster = DurableTasksModule.forRoot({
    connection: new Cluster([{ host: 'redis-1', port: 6379 }], { redisOptions: { maxRetriesPerRequest: null } }),
    queue: '{tasks}', // in braces: a hash tag that keeps every key of the queue in one slot
  });
  return [sentinel, cluster];
}
