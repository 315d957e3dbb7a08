import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import { Queue } from 'bullmq';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { TasksService } from '../lib/index.js';
import type { AdapterName } from './app/harness.js';
import { startRedis, type RedisServer } from './app/redis-server.js';
import { processEntry, startServer, type ServerProcess } from './process/child.js';
import { CrashJobs, crashModule, parseRecords, type JobRecord } from './process/durable-jobs.js';
import { loadOrders } from './process/load-client.js';

let redis: RedisServer;
let dir: string;
const children: ServerProcess[] = [];
let producer: TestingModule | undefined;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nestjs-tasks-crash-')); // the workers' record files
});
afterEach(async () => {
  for (const child of children.splice(0)) child.child.kill('SIGKILL');
  await producer?.close();
  producer = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Polls `check` every 25 ms until it holds; rejects after `timeoutMs`. */
async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(25); // a poll interval, not a wait for an outcome
  }
}

/** Every record of every worker process of this test (one file each). */
function readRecords(): JobRecord[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.log'))
    .flatMap((file) => parseRecords(readFileSync(join(dir, file), 'utf8')));
}

/** How many records of `kind` each id has. */
function countBy(records: JobRecord[], kind: JobRecord['kind']): Map<string, number> {
  const counts = new Map<string, number>();
  for (const record of records) if (record.kind === kind) counts.set(record.id, (counts.get(record.id) ?? 0) + 1);
  return counts;
}

/** Ids one worker process started and did not finish (its own file). */
function inFlight(name: string): string[] {
  const file = join(dir, `${name}.log`);
  const records = existsSync(file) ? parseRecords(readFileSync(file, 'utf8')) : [];
  const done = new Set(records.filter((record) => record.kind === 'done').map((record) => record.id));
  return records.filter((record) => record.kind === 'start' && !done.has(record.id)).map((record) => record.id);
}

interface WorkerSettings {
  concurrency: number;
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
  jobMs: number;
}

/** Starts child processes side by side; each one started is killed after the test, even if another failed. */
async function startAll(starts: Promise<ServerProcess>[]): Promise<ServerProcess[]> {
  const settled = await Promise.allSettled(starts);
  for (const outcome of settled) if (outcome.status === 'fulfilled') children.push(outcome.value);
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<ServerProcess>).value);
}

/** A worker-only child process (a Nest application context) recording to `<dir>/<name>.log`. */
function startWorker(name: string, queue: string, settings: WorkerSettings): Promise<ServerProcess> {
  return startServer(
    {
      REDIS_PORT: String(redis.port),
      QUEUE: queue,
      RECORD_FILE: join(dir, `${name}.log`),
      JOB_MS: String(settings.jobMs),
      CONCURRENCY: String(settings.concurrency),
      LOCK_DURATION: String(settings.lockDuration),
      STALLED_INTERVAL: String(settings.stalledInterval),
      MAX_STALLED_COUNT: String(settings.maxStalledCount),
    },
    [],
    processEntry('durable-worker-child'),
  );
}

/** A web child process on `adapter` that hands its durable tasks to `queue`. */
const startWeb = (adapter: string, queue: string) =>
  startServer(
    { ADAPTER: adapter, REDIS_PORT: String(redis.port), QUEUE: queue },
    [],
    processEntry('durable-web-child'),
  );

/** SIGTERM, then the exit within `timeoutMs` (a worker awaits its running jobs first). */
async function stop(child: ServerProcess, timeoutMs = 8000): Promise<number> {
  const at = Date.now();
  child.child.kill('SIGTERM');
  return child.exited(at, timeoutMs);
}

/** The id (the task's argument) of every job the queue holds, by state. */
async function storedJobs(queue: Queue): Promise<Map<string, string>> {
  const states = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;
  const jobs = new Map<string, string>();
  for (const state of states) {
    for (const job of await queue.getJobs([state])) jobs.set((job.data as { args: [string] }).args[0], state);
  }
  return jobs;
}

const count = (map: Map<string, number>, over: number) => [...map.values()].filter((n) => n > over).length;
const line = (text: string) => process.stdout.write(`${text}\n`);

describe('a durable worker SIGKILLed mid-job, real processes', () => {
  const JOBS = 1200;
  const KILL_AT = [0.25, 0.5, 0.75];
  const AHEAD = 100;
  // Recovery of a killed worker's jobs takes lockDuration to lockDuration + stalledInterval (3–4 s).
  // A job stalls at most once per kill (3), far below maxStalledCount 10, so none can fail for
  // stalling. BullMQ's default, 1, would fail a job that two of the kills interrupted.
  const settings: WorkerSettings = {
    concurrency: 8,
    lockDuration: 3000,
    stalledInterval: 1000,
    maxStalledCount: 10,
    // Jobs of 25–75 ms: a kill lands mid-job even when this process is descheduled for a while
    // between seeing the victim's jobs in flight and sending SIGKILL.
    jobMs: 50,
  };

  it(`runs every one of ${JOBS} jobs while the first of two workers is killed at 3 points`, async () => {
    const queueName = 'crash-worker';
    const started = Date.now();
    const [second, first] = await startAll([
      startWorker('second', queueName, settings),
      startWorker('first-1', queueName, settings),
    ]);

    // The library's hand-off: a process with worker: false schedules the durable task by its @Task name.
    producer = await Test.createTestingModule({
      imports: [crashModule({ redisPort: redis.port, queue: queueName, worker: false, shutdownTimeout: 10_000 })],
    }).compile();
    await producer.init();
    const tasks = producer.get(TasksService);
    const jobs = producer.get(CrashJobs);
    let enqueued = 0;
    /**
     * The jobs done so far; hands more off to keep AHEAD waiting, so that the restarted worker
     * finds jobs however long it takes to start (the second worker cannot run out of them first).
     */
    const progress = () => {
      const done = countBy(readRecords(), 'done').size;
      for (; enqueued < Math.min(JOBS, done + AHEAD); enqueued++) tasks.call(jobs, 'run', `j${enqueued}`);
      return done;
    };

    const kills: { name: string; pid: number; at: number; doneAtKill: number; inFlight: string[] }[] = [];
    let victim = { name: 'first-1', process: first };
    for (const [index, fraction] of KILL_AT.entries()) {
      let doneAtKill = 0;
      await waitUntil(
        `${fraction * 100}% of the jobs done and ${victim.name} running jobs`,
        () => (doneAtKill = progress()) >= JOBS * fraction && inFlight(victim.name).length >= 2,
        30_000,
      );
      const at = Date.now();
      victim.process.child.kill('SIGKILL');
      await victim.process.exited(at, 5000);
      kills.push({
        name: victim.name,
        pid: victim.process.child.pid!,
        at,
        doneAtKill,
        inFlight: inFlight(victim.name),
      });
      // Restarted after the first two kills; after the third the second worker takes the rest.
      if (index < KILL_AT.length - 1) {
        const name = `first-${index + 2}`;
        const [restarted] = await startAll([startWorker(name, queueName, settings)]);
        victim = { name, process: restarted! };
      }
    }
    await waitUntil(`all ${JOBS} jobs done`, () => progress() === JOBS, 30_000);
    await tasks.onIdle();
    expect(tasks.stats().succeeded).toBe(JOBS); // every hand-off acknowledged by Redis

    const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      await waitUntil(
        'BullMQ to mark every job completed',
        async () => (await queue.getJobCounts('completed')).completed === JOBS,
        15_000,
      );
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
      const stalledCounts = (await queue.getJobs(['completed'])).map((job) => job.stalledCounter);
      const stalledMost = Math.max(...stalledCounts);
      const stalledTwice = stalledCounts.filter((n) => n > 1).length;
      await stop(second);
      const records = readRecords();
      const starts = countBy(records, 'start');
      const dones = countBy(records, 'done');
      const killedPids = new Set(kills.map((kill) => kill.pid));
      const doubled = [...starts].filter(([, n]) => n > 1).map(([id]) => id);
      const doubledOutsideKills = doubled.filter(
        (id) => !records.some((record) => record.id === id && record.kind === 'start' && killedPids.has(record.pid)),
      );
      const lost = Array.from({ length: JOBS }, (_, i) => `j${i}`).filter((id) => !dones.has(id));
      const interrupted = kills.flatMap((kill) => kill.inFlight);
      const runsOf = (id: string) => records.filter((record) => record.id === id && record.kind === 'start');
      const attemptsSeen = [...new Set(doubled.flatMap((id) => runsOf(id).map((run) => run.attempt)))];
      /** For each kill, how long until the last job it interrupted had run again. */
      const recoveredIn = kills.map((kill) => {
        const reruns = records.filter((r) => r.kind === 'done' && r.at > kill.at && kill.inFlight.includes(r.id));
        return Math.max(...reruns.map((r) => r.at - kill.at));
      });

      line(
        `worker SIGKILL: ${JOBS} jobs, 2 workers × concurrency ${settings.concurrency}, ${kills.length} kills ` +
          `after ${kills.map((kill) => kill.doneAtKill).join(' / ')} done with ` +
          `${kills.map((kill) => kill.inFlight.length).join(' / ')} jobs in flight, run again within ` +
          `${recoveredIn.join(' / ')} ms; ` +
          `${doubled.length} doubled (ran more than once), ${count(dones, 1)} finished twice, ` +
          `${lost.length} lost, ${counts.failed} failed, max stalledCounter ${stalledMost} ` +
          `(${stalledTwice} job(s) recovered twice, which BullMQ's default maxStalledCount 1 would fail), ` +
          `attempt seen on the runs of a doubled job: ${attemptsSeen.join(', ')}, ` +
          `${Date.now() - started} ms`,
      );
      expect(kills.every((kill) => kill.inFlight.length > 0)).toBe(true); // each kill landed mid-job
      expect(lost).toEqual([]);
      expect(counts).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: JOBS });
      // Each job a kill interrupted ran again, and only the jobs a killed worker had started ran twice.
      expect(interrupted.filter((id) => (starts.get(id) ?? 0) < 2)).toEqual([]);
      expect(doubledOutsideKills).toEqual([]);
      expect(stalledMost).toBeLessThanOrEqual(KILL_AT.length);
      // Every run of a job sees one job id: the idempotency key holds across a crash.
      expect(doubled.filter((id) => new Set(runsOf(id).map((run) => run.jobId)).size !== 1)).toEqual([]);
    } finally {
      await queue.close();
    }
  }, 60_000);
});

describe('a web process SIGTERMed under load, real processes', () => {
  const REQUESTS = 700;
  // Three runs, each a web process SIGTERMed once that many of its requests have finished. The
  // adapters take turns: a run costs seconds of process start-up, and the hand-off is the same.
  const RUNS: readonly (readonly [AdapterName, number])[] = [
    ['express', 150],
    ['fastify', 350],
    ['express', 550],
  ];
  const CONCURRENCY = 50;
  const SHUTDOWN_LIMIT = 3000 + 5000;

  it(`stores and runs the durable job of every answered request, ${RUNS.length} × ${REQUESTS} requests`, async () => {
    const queueName = 'crash-web';
    const started = Date.now();
    // One worker runs throughout; a web process per run, which ends with its SIGTERM.
    const settings = { concurrency: 10, lockDuration: 30_000, stalledInterval: 30_000, maxStalledCount: 1, jobMs: 1 };
    const [worker, firstWeb] = await startAll([
      startWorker('worker', queueName, settings),
      startWeb(RUNS[0]![0], queueName),
    ]);
    const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      const answered: string[] = [];
      let refused = 0;
      for (const [run, [adapter, after]] of RUNS.entries()) {
        const web = run === 0 ? firstWeb! : (await startAll([startWeb(adapter, queueName)]))[0]!;
        let sigtermAt = 0;
        const outcome = await loadOrders(
          web.url,
          REQUESTS,
          CONCURRENCY,
          (finished) => {
            if (finished !== after) return;
            sigtermAt = Date.now();
            web.child.kill('SIGTERM');
          },
          `${run}-`,
        );
        const exitMs = await web.exited(sigtermAt, SHUTDOWN_LIMIT);
        // The web process is gone: each answered request's job must be in Redis already.
        const stored = await storedJobs(queue);
        const missing = outcome.ok.filter((id) => !stored.has(id));
        line(
          `web SIGTERM run ${run + 1} (${adapter}) after ${after}: ${outcome.ok.length} answered 2xx, ` +
            `${outcome.failed} refused, ${missing.length} answered without a stored job, exit ${exitMs} ms after SIGTERM`,
        );
        expect(outcome.ok.length).toBeGreaterThanOrEqual(after);
        expect(missing).toEqual([]);
        answered.push(...outcome.ok);
        refused += outcome.failed;
      }

      const ran = () => countBy(readRecords(), 'done');
      await waitUntil(
        `the jobs of ${answered.length} answered requests to run`,
        () => {
          const dones = ran();
          return answered.every((id) => dones.has(id));
        },
        30_000,
      );
      await waitUntil(
        'BullMQ to mark every stored job completed',
        async () => {
          const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed');
          return counts.waiting + counts.active + counts.delayed === 0 && counts.completed > 0;
        },
        15_000,
      );
      const stored = await storedJobs(queue);
      await stop(worker);
      const starts = countBy(readRecords(), 'start');
      const dones = ran();
      const lost = answered.filter((id) => !dones.has(id));
      const states = [...stored.values()];
      line(
        `web SIGTERM: ${RUNS.length * REQUESTS} requests, ${answered.length} answered 2xx, ` +
          `${refused} refused, ${stored.size} jobs stored (${stored.size - answered.length} of unanswered requests), ` +
          `${dones.size} jobs run, ${lost.length} lost, ${count(starts, 1)} doubled, ${Date.now() - started} ms`,
      );
      expect(lost).toEqual([]);
      expect(states.filter((state) => state !== 'completed')).toEqual([]);
      expect(dones.size).toBe(stored.size); // every stored job ran, answered or not
      expect(count(starts, 1)).toBe(0); // no worker crashed: nothing ran twice
    } finally {
      await queue.close();
    }
  }, 60_000);
});
