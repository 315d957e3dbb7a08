import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedis, type RedisServer } from '../test/app/redis-server.js';
import { benchConnection, jobData, startDurableRoute, startWorker } from './durable-apps.js';
import { HAND_OFF_KINDS, handOffMicro, type HandOffKind } from './durable-micro.js';
import {
  BENCH_JOB,
  BENCH_QUEUE,
  DURABLE_ROUTES,
  WORKER_KINDS,
  type DurableRoute,
  type WorkerKind,
} from './durable-kinds.js';
import { load, type LoadOptions, type LoadResult } from './load.js';
import { median, pinLoadClient, startChildProcess, type Pinning } from './run.js';
import { ADAPTERS, type Adapter } from './variants.js';

export interface DurableOptions extends LoadOptions {
  /** Rounds of each row; library and hand-written/plain alternate within a round. */
  rounds: number;
  /** Warm-up requests before each measured HTTP run. */
  warmup: number;
  /** Jobs enqueued before each jobs/s run. */
  jobs: number;
  /** The worker concurrency of both workers, per process. */
  concurrency: number;
  /** Worker process counts of the jobs/s row. */
  workerCounts: readonly number[];
  /** Servers and workers in this process (smoke runs under Jest) instead of child processes. */
  inProcess: boolean;
  /** Node binary for the server and worker processes (default: this one). */
  node?: string;
}

/** A [min, max] over rounds. */
export type Spread = [number, number];

/** One route on one adapter, medians over rounds. */
export interface DurableHttpRow {
  adapter: Adapter;
  route: DurableRoute;
  node: string;
  rps: number;
  spread: Spread;
  /** Server CPU µs per request, the hand-offs to Redis of its requests included. */
  cpuUs: number;
  cpuSpread: Spread;
  /** This route's req/s over `queueAdd`'s in the same round: median and [min, max] over rounds. */
  ratio: number;
  ratioSpread: Spread;
  /** Server CPU µs per request over `queueAdd`'s in the same round, median over rounds. */
  addedUs: number;
  p50: number;
  p99: number;
}

/** One worker kind with a number of worker processes, medians over rounds. */
export interface DurableJobsRow {
  workers: number;
  kind: WorkerKind;
  node: string;
  /** Jobs completed per second, from the release of the jobs to the last completion. */
  jobsPerSec: number;
  spread: Spread;
  /** This kind's jobs/s over `plain`'s in the same round: median and [min, max] over rounds. */
  ratio: number;
  ratioSpread: Spread;
  /** CPU µs per job of all the worker processes together. */
  cpuUs: number;
  cpuSpread: Spread;
}

/** One way of storing a job, in this process without HTTP: medians over rounds. */
export interface DurableHandOffRow {
  kind: HandOffKind;
  /** CPU µs per job stored, batches of 32 awaited. */
  cpuUs: number;
  cpuSpread: Spread;
  /** CPU µs per job over `queueAdd`'s in the same round, median over rounds. */
  addedUs: number;
}

export interface DurableReport {
  http: DurableHttpRow[];
  jobs: DurableJobsRow[];
  handOff: DurableHandOffRow[];
  httpRuns: { round: number; adapter: Adapter; route: DurableRoute; node: string; result: LoadResult }[];
  jobRuns: { round: number; workers: number; kind: WorkerKind; node: string; jobsPerSec: number; cpuUs: number }[];
  handOffRuns: { round: number; kind: HandOffKind; cpuUs: number }[];
  /** The Redis server's version. */
  redis: string;
  pinning: Pinning;
  options: DurableOptions;
}

/** A process the bench measures: its CPU clock (NaN in this process) and how to stop it. */
interface Measured {
  node: string;
  cpu(): Promise<number>;
  close(): Promise<void>;
}

const POLL_MS = 10;

/** Polls `read` until `done` holds for its value, at most `timeoutMs`; returns the last value. */
async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`durable bench: ${what} not reached within ${timeoutMs} ms (last: ${JSON.stringify(value)})`);
    await sleep(POLL_MS); // poll interval, not a wait for an outcome
  }
}

const spreadOf = (values: number[]): Spread => [Math.min(...values), Math.max(...values)];

/**
 * The durable rows: a route with one durable afterResponse task against the same route adding
 * the job by hand, then jobs/s of the library's worker against a plain BullMQ `Worker`, with 1
 * and 2 worker processes. Starts its own Redis (`redis-server`; the error says how to install
 * it). Pinned: servers and workers on one core; this process (the load client) and Redis, which
 * it starts, on the other.
 */
export async function runDurableBench(
  options: DurableOptions,
  progress: (line: string) => void = () => undefined,
): Promise<DurableReport> {
  if (options.inProcess && options.node !== undefined) throw new Error('--node needs child servers');
  const { pinning, restore } = options.inProcess ? { pinning: null, restore: () => undefined } : pinLoadClient();
  let redis: RedisServer | undefined;
  let queue: Queue | undefined;
  let client: Redis | undefined;
  try {
    redis = await startRedis(); // after pinning: it inherits the load client's core
    queue = new Queue(BENCH_QUEUE, { connection: benchConnection(redis.port) });
    client = new Redis(redis.port, '127.0.0.1');
    const context = { options, pinning, port: redis.port, queue, client, progress };
    const httpRuns = await httpRounds(context);
    const jobRuns = await jobRounds(context);
    const handOffRuns = await handOffRounds(context);
    const info = await client.info('server');
    return {
      http: httpRows(httpRuns),
      jobs: jobRows(jobRuns, options.workerCounts),
      handOff: handOffRows(handOffRuns),
      httpRuns,
      jobRuns,
      handOffRuns,
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
      pinning,
      options,
    };
  } finally {
    await queue?.close();
    await client?.quit();
    await redis?.stop();
    restore();
  }
}

interface Context {
  options: DurableOptions;
  pinning: Pinning;
  port: number;
  /** The bench's own view of the queue: counts, pause/resume, enqueue, flush. */
  queue: Queue;
  /** A plain client of the same Redis, to flush it. */
  client: Redis;
  progress: (line: string) => void;
}

/** Empties Redis between runs, so that its memory and key counts start from nothing each time. */
async function flush(client: Redis): Promise<void> {
  await client.flushdb();
}

async function startRoute(
  context: Context,
  adapter: Adapter,
  route: DurableRoute,
): Promise<Measured & { url: string }> {
  const { options, port, pinning } = context;
  if (options.inProcess) {
    const { url, app } = await startDurableRoute(adapter, route, port);
    return { url, node: process.version, cpu: () => Promise.resolve(NaN), close: () => app.close() };
  }
  const args = [adapter, route, String(port)];
  const child = await startChildProcess('./server-main.js', args, options.node ?? process.execPath, pinning?.server);
  const [url = '', node = 'unknown'] = child.ready;
  return { url: url.replace('[::1]', '127.0.0.1'), node, cpu: child.cpu, close: child.close };
}

async function httpRounds(context: Context): Promise<DurableReport['httpRuns']> {
  const { options, queue, progress } = context;
  const runs: DurableReport['httpRuns'] = [];
  const stored = () => queue.getWaitingCount();
  for (let round = 1; round <= options.rounds; round++) {
    const order = round % 2 === 0 ? [...DURABLE_ROUTES].reverse() : [...DURABLE_ROUTES];
    for (const adapter of ADAPTERS) {
      for (const route of order) {
        const server = await startRoute(context, adapter, route);
        try {
          let answered = 0;
          if (options.warmup > 0) answered += (await load(server.url, { ...options, amount: options.warmup })).requests;
          await until('warm-up jobs stored', stored, (count) => count >= answered, 30_000);
          const cpuBefore = await server.cpu();
          const result = await load(server.url, options);
          answered += result.requests;
          // The CPU figure includes storing every answered request's job.
          await until(`${answered} jobs stored`, stored, (count) => count >= answered, 30_000);
          result.cpuUs = ((await server.cpu()) - cpuBefore) / result.requests;
          if (result.bad > 0) throw new Error(`${adapter}/${route}: ${result.bad} failed or non-2xx responses`);
          runs.push({ round, adapter, route, node: server.node, result });
          progress(
            `durable round ${round} ${adapter} ${route} (${server.node}): ${Math.round(result.rps)} req/s, ${result.cpuUs.toFixed(1)} µs CPU/request`,
          );
        } finally {
          await server.close();
          await flush(context.client);
        }
      }
    }
  }
  return runs;
}

function httpRows(runs: DurableReport['httpRuns']): DurableHttpRow[] {
  return ADAPTERS.flatMap((adapter) => {
    const of = (route: DurableRoute) => runs.filter((run) => run.adapter === adapter && run.route === route);
    const hand = of('queueAdd');
    const sameRound = (round: number) => hand.find((run) => run.round === round)?.result;
    return DURABLE_ROUTES.map((route): DurableHttpRow => {
      const mine = of(route);
      const rps = mine.map((run) => run.result.rps);
      const cpu = mine.map((run) => run.result.cpuUs);
      const ratios = mine.map((run) => run.result.rps / (sameRound(run.round)?.rps ?? NaN));
      const added = mine.map((run) => run.result.cpuUs - (sameRound(run.round)?.cpuUs ?? NaN));
      return {
        adapter,
        route,
        node: mine[0]?.node ?? 'unknown',
        rps: median(rps),
        spread: spreadOf(rps),
        cpuUs: median(cpu),
        cpuSpread: spreadOf(cpu),
        ratio: median(ratios),
        ratioSpread: spreadOf(ratios),
        addedUs: median(added),
        p50: median(mine.map((run) => run.result.p50)),
        p99: median(mine.map((run) => run.result.p99)),
      };
    });
  });
}

/** Enqueues `count` jobs as the durable task's hand-off would, in batches, while the queue is paused. */
async function enqueue(queue: Queue, count: number): Promise<void> {
  await queue.pause();
  for (let from = 0; from < count; from += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - from) }, (_, index) => ({
      name: BENCH_JOB,
      data: jobData(String(from + index)),
      opts: { jobId: randomUUID() },
    }));
    await queue.addBulk(batch);
  }
}

async function startWorkers(context: Context, kind: WorkerKind, count: number): Promise<Measured[]> {
  const { options, port, pinning } = context;
  const concurrency = options.concurrency;
  return Promise.all(
    Array.from({ length: count }, async (): Promise<Measured> => {
      if (options.inProcess) {
        const worker = await startWorker(kind, port, concurrency);
        return { node: process.version, cpu: () => Promise.resolve(NaN), close: () => worker.close() };
      }
      const args = [kind, String(port), String(concurrency)];
      const node = options.node ?? process.execPath;
      const child = await startChildProcess('./worker-main.js', args, node, pinning?.server);
      return { node: child.ready[1] ?? 'unknown', cpu: child.cpu, close: child.close };
    }),
  );
}

/** One jobs/s run: `jobs` jobs waiting, `count` workers of `kind` connected, then released. */
async function jobsRun(context: Context, kind: WorkerKind, count: number) {
  const { options, queue } = context;
  await enqueue(queue, options.jobs);
  const workers = await startWorkers(context, kind, count);
  try {
    await until(
      `${count} ${kind} workers connected`,
      () => queue.getWorkersCount(),
      (n) => n >= count,
      30_000,
    );
    const cpuBefore = await Promise.all(workers.map((worker) => worker.cpu()));
    const started = performance.now();
    await queue.resume();
    const finished = () => queue.getJobCounts('completed', 'failed');
    const done = ({ completed = 0, failed = 0 }: Record<string, number>) => completed + failed >= options.jobs;
    const { failed = 0 } = await until(`${options.jobs} jobs finished`, finished, done, 600_000);
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = await Promise.all(workers.map((worker) => worker.cpu()));
    if (failed > 0) throw new Error(`durable bench: ${failed} of ${options.jobs} jobs failed on the ${kind} worker`);
    const cpu = cpuAfter.reduce((sum, after, index) => sum + after - (cpuBefore[index] ?? NaN), 0);
    return { node: workers[0]?.node ?? 'unknown', jobsPerSec: options.jobs / seconds, cpuUs: cpu / options.jobs };
  } finally {
    await Promise.all(workers.map((worker) => worker.close()));
    await flush(context.client);
  }
}

async function jobRounds(context: Context): Promise<DurableReport['jobRuns']> {
  const { options, progress } = context;
  const runs: DurableReport['jobRuns'] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const order = round % 2 === 0 ? [...WORKER_KINDS].reverse() : [...WORKER_KINDS];
    for (const workers of options.workerCounts) {
      for (const kind of order) {
        const run = await jobsRun(context, kind, workers);
        runs.push({ round, workers, kind, ...run });
        progress(
          `durable round ${round} ${workers} × ${kind} worker (${run.node}): ${Math.round(run.jobsPerSec)} jobs/s, ${run.cpuUs.toFixed(1)} µs CPU/job`,
        );
      }
    }
  }
  return runs;
}

function jobRows(runs: DurableReport['jobRuns'], workerCounts: readonly number[]): DurableJobsRow[] {
  return workerCounts.flatMap((workers) => {
    const of = (kind: WorkerKind) => runs.filter((run) => run.workers === workers && run.kind === kind);
    const plain = of('plain');
    return WORKER_KINDS.map((kind): DurableJobsRow => {
      const mine = of(kind);
      const rates = mine.map((run) => run.jobsPerSec);
      const cpu = mine.map((run) => run.cpuUs);
      const ratios = mine.map(
        (run) => run.jobsPerSec / (plain.find((other) => other.round === run.round)?.jobsPerSec ?? NaN),
      );
      return {
        workers,
        kind,
        node: mine[0]?.node ?? 'unknown',
        jobsPerSec: median(rates),
        spread: spreadOf(rates),
        ratio: median(ratios),
        ratioSpread: spreadOf(ratios),
        cpuUs: median(cpu),
        cpuSpread: spreadOf(cpu),
      };
    });
  });
}

/** The hand-off micro-benchmark (bench/durable-micro.ts), in this process, after one warm-up run of each kind. */
async function handOffRounds(context: Context): Promise<DurableReport['handOffRuns']> {
  const { options, progress } = context;
  const micro = await handOffMicro(context.port);
  const runs: DurableReport['handOffRuns'] = [];
  try {
    for (const kind of HAND_OFF_KINDS) {
      await micro.run(kind, Math.ceil(options.jobs / 4));
      await flush(context.client);
    }
    for (let round = 1; round <= options.rounds; round++) {
      const order = round % 2 === 0 ? [...HAND_OFF_KINDS].reverse() : [...HAND_OFF_KINDS];
      for (const kind of order) {
        const cpuUs = await micro.run(kind, options.jobs);
        await flush(context.client);
        runs.push({ round, kind, cpuUs });
        progress(`durable round ${round} hand-off ${kind} (${process.version}): ${cpuUs.toFixed(1)} µs CPU/job`);
      }
    }
  } finally {
    await micro.close();
  }
  return runs;
}

function handOffRows(runs: DurableReport['handOffRuns']): DurableHandOffRow[] {
  const of = (kind: HandOffKind) => runs.filter((run) => run.kind === kind);
  const hand = of('queueAdd');
  return HAND_OFF_KINDS.map((kind): DurableHandOffRow => {
    const cpu = of(kind).map((run) => run.cpuUs);
    const added = of(kind).map((run) => run.cpuUs - (hand.find((other) => other.round === run.round)?.cpuUs ?? NaN));
    return { kind, cpuUs: median(cpu), cpuSpread: spreadOf(cpu), addedUs: median(added) };
  });
}
