import 'reflect-metadata';
import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { Task, TasksModule, TasksService } from '../lib/index.js';
import { DurableTasksModule } from '../lib/bullmq/index.js';
import { benchConnection, jobData } from './durable-apps.js';
import { BENCH_JOB, BENCH_QUEUE } from './durable-kinds.js';

/**
 * The hand-off alone, in this process, no HTTP: CPU µs per job to store jobs in batches of 32
 * (what 32 connections keep in flight), each batch awaited, Redis flushed between runs.
 * - `durable`: `tasks.schedule(this.receipts.send, id)` on the durable `@Task`, then `onIdle()`;
 * - `taskAdd`: a plain task doing `queue.add(...)`, then `onIdle()`;
 * - `queueAdd`: `queue.add(...)` by hand, then `Promise.all`.
 */
export const HAND_OFF_KINDS = ['durable', 'taskAdd', 'queueAdd'] as const;
export type HandOffKind = (typeof HAND_OFF_KINDS)[number];

const BATCH = 32;

@Injectable()
class MicroReceipts {
  @Task({ name: BENCH_JOB, durable: true })
  send(_id: string): Promise<void> {
    return Promise.resolve();
  }
}

@Module({})
class HandOffMicroModule {}

/** One process's hand-off runner: `run(kind, jobs)` resolves with its CPU µs per job. */
export async function handOffMicro(redisPort: number) {
  const connection = benchConnection(redisPort);
  const module: DynamicModule = {
    module: HandOffMicroModule,
    imports: [TasksModule.forRoot(), DurableTasksModule.forRoot({ connection, queue: BENCH_QUEUE, worker: false })],
    providers: [MicroReceipts],
  };
  const app = await NestFactory.createApplicationContext(module, { logger: ['error', 'warn'] });
  const tasks = app.get(TasksService);
  const receipts = app.get(MicroReceipts);
  const queue = new Queue(BENCH_QUEUE, { connection });
  await queue.waitUntilReady();
  let sent = 0;
  const add = () => queue.add(BENCH_JOB, jobData(String(++sent)), { jobId: randomUUID() });
  const batches: Record<HandOffKind, () => Promise<unknown>> = {
    durable: () => {
      for (let i = 0; i < BATCH; i++) tasks.schedule(receipts.send, String(++sent));
      return tasks.onIdle();
    },
    taskAdd: () => {
      for (let i = 0; i < BATCH; i++) tasks.schedule(add);
      return tasks.onIdle();
    },
    queueAdd: () => Promise.all(Array.from({ length: BATCH }, add)),
  };
  return {
    async run(kind: HandOffKind, jobs: number): Promise<number> {
      const before = process.cpuUsage();
      for (let done = 0; done < jobs; done += BATCH) await batches[kind]();
      const { user, system } = process.cpuUsage(before);
      return (user + system) / (Math.ceil(jobs / BATCH) * BATCH);
    },
    async close(): Promise<void> {
      await queue.close();
      await app.close();
    },
  };
}
