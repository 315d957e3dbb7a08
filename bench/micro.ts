import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import PQueue from 'p-queue';
import { TasksModule, TasksService, type ConfiguredScheduler } from '../lib/index.js';
import { TasksTelemetryModule } from '../lib/opentelemetry/index.js';
import { requestMicro, type RequestMicroResults } from './request-micro.js';

/** Micro-benchmark figures, all measured in one process. */
export interface MicroResults {
  /** ns from schedule() to settled, per task, for an empty async function. */
  scheduleToSettledNs: number;
  /** the same for a hand-written Set of promises (add, then, delete). */
  handWrittenNs: number;
  /** scheduleToSettledNs / handWrittenNs. */
  ratio: number;
  /** Heap bytes per pending task with 100,000 tasks waiting on one promise. */
  bytesPerPendingTask: number;
  /** ns per task (schedule + settle) at 1,000 and at 100,000 pending tasks, and their ratio. */
  perTaskNsAt1k: number;
  perTaskNsAt100k: number;
  flatness: number;
  /** How many tasks the large figures were measured with (100,000 at scale 1). */
  largeCount: number;
  /** The same flatness and heap figure for the hand-written Set of promises, for comparison. */
  handWrittenFlatness: number;
  handWrittenBytesPerPending: number;
  /** ms from the last task settling to onIdle() resolving, and to app.close() resolving. */
  onIdleLagMs: number;
  closeLagMs: number;
  /** schedule→settled ns with TasksTelemetryModule imported and no OpenTelemetry SDK registered. */
  telemetryNoSdkNs: number;
  /** telemetryNoSdkNs over the same figure without the module, measured alternately with it. */
  telemetryNoSdkRatio: number;
  /**
   * scheduleToSettledNs for the same empty function with `{ timeout: 60_000, retry: 3 }` at the
   * call site, succeeding first time: what the control features cost when set but not needed.
   */
  controlledNs: number;
  /** controlledNs / scheduleToSettledNs, both from this process. */
  controlledRatio: number;
  /** ns per task for largeCount tasks through one `concurrency: 8` group, each awaiting one microtask. */
  concurrency8Ns: number;
  /** The same tasks through p-queue with `concurrency: 8`. */
  pQueue8Ns: number;
  /** concurrency8Ns / pQueue8Ns: lower is better, at most 1 is the target. */
  concurrencyRatio: number;
  /** The per-request path without a server (request-micro.ts), at largeCount / 5 requests per batch. */
  request: RequestMicroResults;
}

@Module({ imports: [TasksModule.forRoot()] })
class MicroModule {}

@Module({ imports: [TasksModule.forRoot(), TasksTelemetryModule.forRoot()] })
class TelemetryMicroModule {}

const empty = async (): Promise<void> => undefined;
/**
 * The work of each task behind a concurrency limit: one microtask, so that a slot is held across
 * an await and the figure is the queue's own cost (a macrotask hop would add the same event-loop
 * turn to both queues and blur the difference).
 */
const oneMicrotask = async (): Promise<void> => {
  await Promise.resolve();
};
const now = () => process.hrtime.bigint();
const gc = (globalThis as { gc?: () => void }).gc;

/** ns per task to schedule `count` tasks with `run` and see them all settled. */
async function timePer(count: number, run: (count: number) => Promise<void>): Promise<number> {
  const started = now();
  await run(count);
  return Number(now() - started) / count;
}

/** Best of `runs` (the least disturbed run), after one warm-up. */
async function best(runs: number, measure: () => Promise<number>): Promise<number> {
  await measure();
  let result = Infinity;
  for (let i = 0; i < runs; i++) result = Math.min(result, await measure());
  return result;
}

/** Schedules `count` tasks that wait on one promise; returns a promise of all settled. */
type PendingScheduler = (count: number, wait: () => Promise<void>) => Promise<void>;

/** Through the service, or through a scheduler it configured with `tasks.task(options)`. */
const viaTasks =
  (tasks: TasksService, scheduler: ConfiguredScheduler = tasks): PendingScheduler =>
  (count, wait) => {
    for (let i = 0; i < count; i++) scheduler.schedule(wait);
    return tasks.onIdle();
  };

/** The same schedule, through p-queue: add every task, then wait for it to be idle. */
const viaPQueue =
  (queue: PQueue): PendingScheduler =>
  (count, work) => {
    for (let i = 0; i < count; i++) void queue.add(work);
    return queue.onIdle();
  };

/** The hand-written minimum: a Set of promises (add, then, delete). */
const viaSet: PendingScheduler = (count, wait) => {
  const live = new Set<Promise<void>>();
  for (let i = 0; i < count; i++) {
    const promise: Promise<void> = Promise.resolve()
      .then(wait)
      .then(() => void live.delete(promise));
    live.add(promise);
  }
  return Promise.all(live).then(() => undefined);
};

async function pendingCost(schedule: PendingScheduler, count: number): Promise<{ ns: number; bytes: number }> {
  let release!: () => void;
  const blocker = new Promise<void>((resolve) => (release = resolve));
  const wait = () => blocker;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let started = now();
  const settled = schedule(count, wait);
  await Promise.resolve(); // every task has started and is waiting on the blocker
  let elapsed = now() - started;
  await new Promise((resolve) => setImmediate(resolve));
  gc?.();
  const bytes = (process.memoryUsage().heapUsed - heapBefore) / count;
  started = now();
  release();
  await settled;
  elapsed += now() - started;
  return { ns: Number(elapsed) / count, bytes };
}

/** Lowest per-task cost and heap figure over `runs` runs of `count` pending tasks. */
async function bestPending(
  schedule: PendingScheduler,
  count: number,
  runs: number,
): Promise<{ ns: number; bytes: number }> {
  await pendingCost(schedule, count);
  let best = { ns: Infinity, bytes: Infinity };
  for (let i = 0; i < runs; i++) {
    const run = await pendingCost(schedule, count);
    best = { ns: Math.min(best.ns, run.ns), bytes: Math.min(best.bytes, run.bytes) };
  }
  return best;
}

/**
 * schedule→settled ns per task with TasksTelemetryModule and no SDK, and its ratio to the same
 * without the module: the two apps alternate, best of five each, so that both see the same noise.
 */
async function telemetryNoSdk(tasks: TasksService, count: number): Promise<{ ns: number; ratio: number }> {
  const app = await NestFactory.createApplicationContext(TelemetryMicroModule, { logger: false });
  const telemetry = app.get(TasksService);
  const measure = (scheduler: TasksService) => timePer(count, (n) => viaTasks(scheduler)(n, empty));
  await measure(telemetry);
  let off = Infinity;
  let on = Infinity;
  for (let i = 0; i < 5; i++) {
    off = Math.min(off, await measure(tasks));
    on = Math.min(on, await measure(telemetry));
  }
  await app.close();
  return { ns: on, ratio: on / off };
}

export async function runMicro(scale = 1): Promise<MicroResults> {
  const app = await NestFactory.createApplicationContext(MicroModule, { logger: false });
  const tasks = app.get(TasksService);
  const count = Math.max(1000, Math.round(100_000 * scale));
  const scheduleToSettledNs = await best(5, () => timePer(count, (n) => viaTasks(tasks)(n, empty)));
  const handWrittenNs = await best(5, () => timePer(count, (n) => viaSet(n, empty)));
  const controlled = tasks.task({ timeout: 60_000, retry: 3 });
  const controlledNs = await best(5, () => timePer(count, (n) => viaTasks(tasks, controlled)(n, empty)));
  const limited = tasks.task({ group: 'concurrency8', concurrency: 8 });
  const concurrency8Ns = await best(5, () => timePer(count, (n) => viaTasks(tasks, limited)(n, oneMicrotask)));
  const queue = new PQueue({ concurrency: 8 });
  const pQueue8Ns = await best(5, () => timePer(count, (n) => viaPQueue(queue)(n, oneMicrotask)));
  const small = await bestPending(viaTasks(tasks), 1000, 20);
  const large = await bestPending(viaTasks(tasks), count, 3);
  const setSmall = await bestPending(viaSet, 1000, 20);
  const setLarge = await bestPending(viaSet, count, 3);
  const telemetry = await telemetryNoSdk(tasks, count);
  const request = await requestMicro(tasks, Math.max(1000, Math.round(count / 5)));
  let settledAt = 0n;
  tasks.schedule(async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    settledAt = now();
  });
  await tasks.onIdle();
  const onIdleLagMs = Number(now() - settledAt) / 1e6;
  let closeSettledAt = 0n;
  tasks.task({ shield: true }).schedule(async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    closeSettledAt = now();
  });
  await app.close();
  const closeLagMs = Number(now() - closeSettledAt) / 1e6;
  return {
    scheduleToSettledNs,
    handWrittenNs,
    ratio: scheduleToSettledNs / handWrittenNs,
    bytesPerPendingTask: large.bytes,
    perTaskNsAt1k: small.ns,
    perTaskNsAt100k: large.ns,
    flatness: large.ns / small.ns,
    largeCount: count,
    handWrittenFlatness: setLarge.ns / setSmall.ns,
    handWrittenBytesPerPending: setLarge.bytes,
    onIdleLagMs,
    closeLagMs,
    telemetryNoSdkNs: telemetry.ns,
    telemetryNoSdkRatio: telemetry.ratio,
    controlledNs,
    controlledRatio: controlledNs / scheduleToSettledNs,
    concurrency8Ns,
    pQueue8Ns,
    concurrencyRatio: concurrency8Ns / pQueue8Ns,
    request,
  };
}
