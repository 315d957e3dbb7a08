import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Job, Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { redisServerMissing, startRedis, type RedisServer } from './app/redis-server.js';

/** Resolves true when something accepts a TCP connection on 127.0.0.1:`port`. */
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('startRedis', () => {
  it('starts a loopback server without persistence in its own temp dir, and stop() removes both', async () => {
    const redis = await startRedis();
    const client = new Redis(redis.url);
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
      expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
      const [, dir] = (await client.config('GET', 'dir')) as [string, string];
      expect(existsSync(dir)).toBe(true);
      await client.quit();
      await redis.stop();
      await redis.stop(); // a second stop is a no-op
      expect(existsSync(dir)).toBe(false);
      expect(await accepts(redis.port)).toBe(false);
    } finally {
      if (client.status !== 'end') client.disconnect(); // on a failed assertion only: disconnect() after quit() lingers
      await redis.stop();
    }
  });

  it('fails, never skips, when redis-server is not on PATH, and says how to install it', async () => {
    const searchPath = '/nonexistent-dir';
    await expect(startRedis({ searchPath })).rejects.toThrow(redisServerMissing(searchPath));
    expect(redisServerMissing(searchPath)).toContain('apt-get update && apt-get install -y redis-server');
  });
});

interface Attempt {
  id: string | undefined;
  attemptsMade: number;
  at: number;
}

describe('BullMQ on a real Redis', () => {
  const name = 'redis-harness';
  const backoffMs = 20;
  let redis: RedisServer;
  let queue: Queue;
  let events: QueueEvents;
  let worker: Worker<{ n: number }, { done: number }>;
  const attempts: Attempt[] = [];
  const attemptsOf = (id: string | undefined) => attempts.filter((attempt) => attempt.id === id);

  beforeAll(async () => {
    redis = await startRedis();
    // Options, not client instances: BullMQ opens its own connections and closes them in close().
    const connection: ConnectionOptions = { host: '127.0.0.1', port: redis.port };
    queue = new Queue(name, { connection });
    events = new QueueEvents(name, { connection });
    worker = new Worker(
      name,
      async (job) => {
        attempts.push({ id: job.id, attemptsMade: job.attemptsMade, at: Date.now() });
        if (job.name === 'doomed') throw new Error(`doomed ${job.data.n}`);
        if (job.name === 'flaky' && job.attemptsMade < 2) throw new Error(`flaky ${job.data.n}`);
        return { done: job.data.n };
      },
      { connection },
    );
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
  });

  afterAll(async () => {
    await worker?.close();
    await events?.close();
    await queue?.close();
    await redis?.stop();
  });

  it('retries a failing job with a fixed backoff under one job id until it completes', async () => {
    const job = await queue.add('flaky', { n: 1 }, { attempts: 3, backoff: { type: 'fixed', delay: backoffMs } });
    await expect(job.waitUntilFinished(events, 10_000)).resolves.toEqual({ done: 1 });

    const seen = attemptsOf(job.id);
    expect(seen.map((attempt) => attempt.attemptsMade)).toEqual([0, 1, 2]);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.at - seen[i - 1]!.at).toBeGreaterThanOrEqual(backoffMs);
    const stored = await Job.fromId(queue, job.id!);
    expect(await stored!.getState()).toBe('completed');
    expect(stored!.attemptsMade).toBe(3);
    expect(stored!.returnvalue).toEqual({ done: 1 });
  });

  it('ends a job that fails every attempt as failed, with attemptsMade === 3', async () => {
    const job = await queue.add('doomed', { n: 2 }, { attempts: 3, backoff: { type: 'fixed', delay: backoffMs } });
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow('doomed 2');

    expect(attemptsOf(job.id).map((attempt) => attempt.attemptsMade)).toEqual([0, 1, 2]);
    const stored = await Job.fromId(queue, job.id!);
    expect(await stored!.getState()).toBe('failed');
    expect(stored!.attemptsMade).toBe(3);
    expect(stored!.failedReason).toBe('doomed 2');
  });

  it('adds a job with a given jobId once: a second add with that id is ignored', async () => {
    const first = await queue.add('once', { n: 3 }, { jobId: 'order-3' });
    const second = await queue.add('once', { n: 99 }, { jobId: 'order-3' });
    expect(first.id).toBe('order-3');
    expect(second.id).toBe('order-3');
    await expect(first.waitUntilFinished(events, 10_000)).resolves.toEqual({ done: 3 });
    const again = await queue.add('once', { n: 100 }, { jobId: 'order-3' }); // completed jobs are kept
    await expect(again.waitUntilFinished(events, 10_000)).resolves.toEqual({ done: 3 });
    expect(attemptsOf('order-3')).toHaveLength(1);
  });
});
