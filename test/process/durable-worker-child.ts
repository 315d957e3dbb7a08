/**
 * A worker-only process for the crash tests: `node dist-test/test/process/durable-worker-child.js`
 * with REDIS_PORT, QUEUE, RECORD_FILE, JOB_MS and the worker's CONCURRENCY, LOCK_DURATION,
 * STALLED_INTERVAL and MAX_STALLED_COUNT set. No HTTP server: a Nest application context whose
 * DurableTasksModule runs a BullMQ worker. Prints `READY <pid>` once the worker is running.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { crashModule } from './durable-jobs.js';

const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`durable-worker-child: ${name} is not set`);
  return Number(value);
};

const app = await NestFactory.createApplicationContext(
  crashModule({
    redisPort: env('REDIS_PORT'),
    queue: process.env.QUEUE!,
    shutdownTimeout: 3000,
    worker: {
      concurrency: env('CONCURRENCY'),
      lockDuration: env('LOCK_DURATION'),
      stalledInterval: env('STALLED_INTERVAL'),
      maxStalledCount: env('MAX_STALLED_COUNT'),
    },
  }),
  { logger: ['warn', 'error'] },
);
app.enableShutdownHooks();
process.stdout.write(`READY ${process.pid}\n`);
