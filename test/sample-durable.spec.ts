import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Queue } from 'bullmq';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { AppModule } from '../sample/app.module.js';
import { RECEIPTS_QUEUE } from '../sample/receipts.module.js';
import { RecordingLogger } from './app/harness.js';
import { startRedis, type RedisServer } from './app/redis-server.js';

/** The sample app (npm run sample) with REDIS_URL set: a durable task handed to Redis and run by its worker. */
describe('the sample app with REDIS_URL', () => {
  let redis: RedisServer;
  let app: INestApplication | undefined;
  let queue: Queue | undefined;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await app?.close();
    await queue?.close();
    app = queue = undefined;
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('hands the receipt of a payment to BullMQ after the response, and its worker runs it', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [await AppModule.register(redis.url)] }).compile();
    const logger = new RecordingLogger();
    app = moduleRef.createNestApplication({ logger });
    await app.listen(0, '127.0.0.1');
    expect((await request(app.getHttpServer()).post('/orders/o-7/pay').expect(201)).body).toEqual({
      id: 'o-7',
      paid: true,
    });
    queue = new Queue(RECEIPTS_QUEUE, { connection: { host: '127.0.0.1', port: redis.port } });
    const completed = await completedJob(queue, 10_000);
    expect({ name: completed.name, args: (completed.data as { args: unknown }).args }).toEqual({
      name: 'send_receipt',
      args: ['o-7'],
    });
    // The worker ran the method, which logged the job id it would give the mail provider.
    const label = `send_receipt o-7 (job ${completed.id}, attempt 1)`;
    expect(logger.lines.map((line) => line.message)).toEqual(
      expect.arrayContaining([`${label}: start`, `${label}: end`]),
    );
  });

  it('has no payment route without REDIS_URL', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [await AppModule.register('')] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    await request(app.getHttpServer()).post('/orders/o-8/pay').expect(404);
  });

  it('never imports bullmq statically: only REDIS_URL loads it, by a dynamic import', () => {
    const reached = staticImports('main.ts');
    expect(reached).toContain('app.module.ts');
    expect(reached.filter((file) => importsOf(file).some((spec) => /(^|\/)bullmq$/.test(spec)))).toEqual([]);
    expect(read('app.module.ts')).toContain("await import('./receipts.module.js')");
    // The check can fail: the dynamically imported module does import nestjs-tasks/bullmq.
    expect(importsOf('receipts.module.ts')).toContain('nestjs-tasks/bullmq');
  });
});

/** Resolves with the first completed job of `queue`; fails after `timeoutMs`. */
async function completedJob(queue: Queue, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [job] = await queue.getJobs(['completed']);
    if (job !== undefined) return job;
    const failed = await queue.getJobs(['failed']);
    if (failed.length > 0) throw new Error(`job failed: ${failed[0]!.failedReason}`);
    if (Date.now() > deadline) throw new Error(`no completed job in ${queue.name} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25)); // a poll interval, not a wait for an outcome
  }
}

const read = (file: string) => readFileSync(new URL(`../sample/${file}`, import.meta.url), 'utf8');

/** The specifiers of a sample file's static `import … from` / `export … from` / `import '…'` statements. */
function importsOf(file: string): string[] {
  const statements = read(file).matchAll(/^(?:import|export)\s(?:[^;]*?\sfrom\s)?'([^']+)'/gm);
  return [...statements].map((match) => match[1]!);
}

/** The sample files reached from `entry` through static imports only. */
function staticImports(entry: string): string[] {
  const seen = new Set<string>([entry]);
  for (const file of seen) {
    for (const spec of importsOf(file)) {
      if (spec.startsWith('./')) seen.add(spec.slice(2).replace(/\.js$/, '.ts'));
    }
  }
  return [...seen];
}
