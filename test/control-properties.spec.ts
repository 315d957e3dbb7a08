import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import fc from 'fast-check';
import {
  currentTask,
  TaskQueueFullError,
  TasksError,
  TasksModule,
  TasksService,
  TaskTimeoutError,
  type RetrySetting,
  type TaskCounts,
  type TasksStats,
} from '../lib/index.js';
import { RequestTasks, requestStorage } from '../lib/contexts/request-tasks.js';
import { TaskRunner } from '../lib/core/task-runner.js';
import { resolveTasksOptions } from '../lib/module/tasks.options.js';
import { TasksShutdown } from '../lib/module/tasks.shutdown.js';
import { RecordingLogger } from './app/harness.js';

/**
 * Task control under random mixes of tasks, limits, failures and a shutdown at a random point.
 * Every run boots its own Nest context (stats count since start-up) and runs in virtual time.
 */
const RUNS = 1000;
const GROUPS = ['g0', 'g1', 'g2'];
const LIVE = ['pending', 'queued', 'running', 'retrying'] as const;
const OUTCOMES = ['succeeded', 'failed', 'timedOut', 'dropped', 'aborted'] as const;

interface AttemptPlan {
  duration: number;
  /** `fatal` fails with an error `retryIf` refuses. */
  outcome: 'ok' | 'throw' | 'reject' | 'fatal';
  ignoresSignal: boolean;
}

interface TaskPlan {
  at: number;
  group: number;
  /** Join the group through the `group` field, else through the task's name. */
  viaGroupField: boolean;
  mode: 'immediate' | 'afterRoute' | 'afterResponse';
  request: number;
  shield: boolean;
  always: boolean;
  timeout?: number;
  retry?: RetrySetting;
  retryIf: boolean;
  onErrorDelay: number;
  attempts: AttemptPlan[];
}

interface Scenario {
  maxConcurrency: number;
  shutdownTimeout: number;
  defaults: { timeout?: number; retry?: RetrySetting };
  groups: { concurrency?: number; queueLimit?: number }[];
  tasks: TaskPlan[];
  requests: { at: number; ok: boolean }[];
  shutdown?: { at: number; how: 'close' | 'drained' };
  idleChecks: number[];
  seed: number;
}

class FatalError extends Error {}

const limit = (max: number) => fc.oneof(fc.integer({ min: 1, max }), fc.constant(Infinity));
const retryArb: fc.Arbitrary<RetrySetting | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant(false as const),
  fc.integer({ min: 1, max: 4 }),
  fc.record(
    {
      attempts: fc.integer({ min: 1, max: 4 }),
      delay: fc.integer({ min: 0, max: 40 }),
      backoff: fc.constantFrom('fixed' as const, 'exponential' as const),
      maxDelay: fc.integer({ min: 0, max: 100 }),
      jitter: fc.boolean(),
    },
    { requiredKeys: ['attempts'] },
  ),
);
const attemptArb: fc.Arbitrary<AttemptPlan> = fc.record({
  duration: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 })),
  outcome: fc.constantFrom('ok' as const, 'ok' as const, 'throw' as const, 'reject' as const, 'fatal' as const),
  ignoresSignal: fc.boolean(),
});
const taskArb: fc.Arbitrary<TaskPlan> = fc.record({
  at: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 80 })),
  group: fc.integer({ min: 0, max: GROUPS.length - 1 }),
  viaGroupField: fc.boolean(),
  mode: fc.constantFrom('immediate' as const, 'immediate' as const, 'afterRoute' as const, 'afterResponse' as const),
  request: fc.integer({ min: 0, max: 1 }),
  shield: fc.boolean(),
  always: fc.boolean(),
  timeout: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
  retry: retryArb,
  retryIf: fc.boolean(),
  onErrorDelay: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20 })),
  attempts: fc.array(attemptArb, { minLength: 4, maxLength: 4 }),
});
const scenarioArb = (maxTasks: number): fc.Arbitrary<Scenario> =>
  fc.record({
    maxConcurrency: limit(4),
    shutdownTimeout: fc.oneof(fc.integer({ min: 0, max: 150 }), fc.constant(Infinity)),
    defaults: fc.record({ timeout: fc.integer({ min: 1, max: 40 }), retry: retryArb }, { requiredKeys: [] }),
    groups: fc.array(
      fc.record({
        concurrency: fc.option(limit(3), { nil: undefined }),
        queueLimit: fc.option(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(Infinity)), { nil: undefined }),
      }),
      { minLength: GROUPS.length, maxLength: GROUPS.length },
    ),
    tasks: fc.array(taskArb, { minLength: 1, maxLength: maxTasks }),
    requests: fc.array(fc.record({ at: fc.integer({ min: 0, max: 100 }), ok: fc.boolean() }), {
      minLength: 2,
      maxLength: 2,
    }),
    shutdown: fc.option(
      fc.record({ at: fc.integer({ min: 0, max: 120 }), how: fc.constantFrom('close' as const, 'drained' as const) }),
      { nil: undefined },
    ),
    idleChecks: fc.array(fc.integer({ min: 0, max: 150 }), { maxLength: 3 }),
    seed: fc.integer(),
  });

type Backend = 'nest' | 'direct';

interface Booted {
  tasks: TasksService;
  /** What `app.close()` does to the tasks. */
  close: () => Promise<void>;
  dispose: () => Promise<void>;
}

/**
 * The public TasksService either in a Nest context from TasksModule.forRoot(), closed with
 * `app.close()`, or around a TaskRunner built directly (a Nest context takes milliseconds to
 * boot), closed through the module's own shutdown hooks in Nest's order.
 */
async function boot(s: Scenario, backend: Backend, logger: RecordingLogger): Promise<Booted> {
  const options = { maxConcurrency: s.maxConcurrency, shutdownTimeout: s.shutdownTimeout, ...s.defaults };
  if (backend === 'direct') {
    Logger.overrideLogger(logger);
    const runner = new TaskRunner(resolveTasksOptions(options));
    const hooks = new TasksShutdown(runner);
    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        await hooks.onModuleDestroy();
        await hooks.onApplicationShutdown();
      })());
    return { tasks: new TasksService(runner), close, dispose: close };
  }
  @Module({ imports: [TasksModule.forRoot(options)] })
  class ScenarioModule {}
  const app = await NestFactory.createApplicationContext(ScenarioModule, { logger });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= app.close());
  return { tasks: app.get(TasksService), close, dispose: close };
}

/** What a run saw, and the invariants it broke, by number (as in the describe titles). */
interface Run {
  violations: { invariant: number; message: string }[];
  /** How often each thing happened, to show the runs reach every path. */
  seen: Record<string, number>;
}

const liveOf = (counts: TaskCounts) => LIVE.reduce((sum, key) => sum + counts[key], 0);
const settledOf = (counts: TaskCounts) => OUTCOMES.reduce((sum, key) => sum + counts[key], 0);

/** The number of attempts a `retry` setting allows. */
function attemptsOf(retry: RetrySetting | undefined): number {
  if (retry === undefined || retry === false) return 1;
  return typeof retry === 'number' ? retry : retry.attempts;
}

/** A seeded Math.random, so that jittered delays replay with the counterexample. */
function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Drives one scenario through a fresh Nest context and the public TasksService, in virtual time. */
async function runScenario(s: Scenario, backend: Backend): Promise<Run> {
  const violations: Run['violations'] = [];
  const fail = (invariant: number, message: string) => violations.push({ invariant, message });
  const logger = new RecordingLogger();

  const { tasks, close, dispose } = await boot(s, backend, logger);
  const random = jest.spyOn(Math, 'random').mockImplementation(seeded(s.seed));

  const concurrencyOf = (g: number) => s.groups[g].concurrency ?? Infinity;
  const retryOf = (plan: TaskPlan) => plan.retry ?? s.defaults.retry;
  /** Functions executing, whose attempt the library has not ended: per group and in all. */
  const executing = GROUPS.map(() => 0);
  let executingTotal = 0;
  const admitted = GROUPS.map(() => 0);
  /** Order in which tasks became ready to start (scheduled, or released by their request). */
  const readyKey = new Map<number, number>();
  let readySequence = 0;
  const firstStarts = GROUPS.map((): number[] => []);
  const attemptsStarted = s.tasks.map(() => 0);
  const onErrorCalls = s.tasks.map(() => 0);
  /** Ends the attempt that is executing, as this test counts it. */
  const endAttempt = s.tasks.map((): (() => void) | undefined => undefined);
  let retries = 0;
  let refusals = 0;
  let onErrorTotal = 0;

  /** Invariant 6 (and the limits of 1) at any moment: every admitted task is counted once. */
  const checkCounts = (where: string) => {
    const stats = tasks.stats();
    const total = admitted.reduce((a, b) => a + b, 0);
    if (liveOf(stats) + settledOf(stats) !== total) {
      fail(6, `${where}: live ${liveOf(stats)} + settled ${settledOf(stats)} != admitted ${total}`);
    }
    GROUPS.forEach((name, g) => {
      const counts = stats.groups[name];
      const sum = counts === undefined ? 0 : liveOf(counts) + settledOf(counts);
      if (sum !== admitted[g]) fail(6, `${where}: group ${name} counts ${sum} != admitted ${admitted[g]}`);
      if (counts !== undefined && counts.running > concurrencyOf(g)) {
        fail(1, `${where}: stats running ${counts.running} in ${name} > concurrency ${concurrencyOf(g)}`);
      }
    });
    if (stats.running > s.maxConcurrency) fail(1, `${where}: stats running ${stats.running} > maxConcurrency`);
    for (const key of [...LIVE, ...OUTCOMES]) if (stats[key] < 0) fail(6, `${where}: ${key} < 0`);
    return stats;
  };

  const body = (id: number) => {
    const plan = s.tasks[id];
    const g = plan.group;
    const task = currentTask()!;
    const attempt = task.attempt;
    const signal = task.signal;
    const shuttingDown = tasks.stats().shuttingDown;
    if (attempt > 1) retries++;
    if (attempt !== attemptsStarted[id] + 1) fail(4, `task ${id}: attempt ${attempt} after ${attemptsStarted[id]}`);
    attemptsStarted[id] = attempt;
    if (attempt > attemptsOf(retryOf(plan))) fail(4, `task ${id}: attempt ${attempt} > ${attemptsOf(retryOf(plan))}`);
    if (onErrorCalls[id] > 0) fail(4, `task ${id}: attempt ${attempt} started after its onError`);
    if (attempt === 1) firstStarts[g].push(id);
    if (shuttingDown && !plan.shield && !signal.aborted) {
      fail(4, `task ${id}: unshielded attempt ${attempt} started during shutdown with a live signal`);
    }
    executing[g]++;
    executingTotal++;
    if (executing[g] > concurrencyOf(g)) fail(1, `task ${id}: ${executing[g]} executing in ${GROUPS[g]}`);
    if (executingTotal > s.maxConcurrency) fail(1, `task ${id}: ${executingTotal} executing in all`);
    checkCounts(`start of task ${id} attempt ${attempt}`);

    let executingNow = true;
    const end = () => {
      if (!executingNow) return;
      executingNow = false;
      executing[g]--;
      executingTotal--;
    };
    endAttempt[id] = end;
    const step = plan.attempts[Math.min(attempt, plan.attempts.length) - 1];
    const failure = () => (step.outcome === 'fatal' ? new FatalError(`fatal ${id}`) : new Error(`failed ${id}`));
    if (step.outcome === 'throw' && step.duration === 0) {
      end();
      throw failure();
    }
    if (step.outcome === 'ok' && step.duration === 0 && !signal.aborted) {
      end();
      return `done ${id}`;
    }
    return new Promise<string>((resolve, reject) => {
      const finish = () => {
        end();
        signal.removeEventListener('abort', onAbort);
        if (step.outcome === 'ok') resolve(`done ${id}`);
        else reject(failure());
      };
      const timer = setTimeout(finish, step.duration);
      function onAbort() {
        // A timeout ends the attempt for the library at once, whether the function stops or not.
        if (signal.reason instanceof TaskTimeoutError) end();
        if (step.ignoresSignal) return;
        clearTimeout(timer);
        end();
        reject(signal.reason);
      }
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  };

  const onError = (id: number) => () => {
    onErrorCalls[id]++;
    onErrorTotal++;
    if (onErrorCalls[id] > 1) fail(4, `task ${id}: onError called ${onErrorCalls[id]} times`);
    // The attempt is over for the library (a function that ignored its signal may go on).
    endAttempt[id]?.();
    const plan = s.tasks[id];
    if (plan.onErrorDelay === 0) return undefined;
    return new Promise<void>((resolve) => setTimeout(resolve, plan.onErrorDelay));
  };

  const requests = s.requests.map(() => {
    const request = new RequestTasks(undefined, 'settled');
    request.handlerStarted();
    return request;
  });
  const settledRequests = new Set<number>();
  const waitingForRequest = s.requests.map((): { id: number; mode: string }[] => []);

  const schedule = (id: number) => {
    const plan = s.tasks[id];
    const g = plan.group;
    const group = GROUPS[g];
    const before = tasks.stats();
    const counts = before.groups[group];
    const queueLimit = s.groups[g].queueLimit ?? Infinity;
    const waiting = (counts?.queued ?? 0) + (counts?.pending ?? 0);
    const deferred = plan.mode !== 'immediate';
    const canStart =
      (counts?.queued ?? 0) === 0 && (counts?.running ?? 0) < concurrencyOf(g) && before.running < s.maxConcurrency;
    const refused = waiting >= queueLimit && (deferred || !canStart);
    const retry =
      plan.retryIf && typeof plan.retry === 'object'
        ? { ...plan.retry, retryIf: (error: unknown) => !(error instanceof FatalError) }
        : plan.retry;
    const scheduler = plan.mode === 'immediate' ? tasks : tasks[plan.mode];
    const configured = scheduler.task({
      name: plan.viaGroupField ? `t${id}` : group,
      group: plan.viaGroupField ? group : undefined,
      shield: plan.shield,
      always: plan.always,
      timeout: plan.timeout,
      retry,
      concurrency: s.groups[g].concurrency,
      queueLimit: s.groups[g].queueLimit,
      onError: onError(id),
    });
    const key = ++readySequence;
    try {
      if (deferred) requestStorage.run(requests[plan.request], () => configured.schedule(body, id));
      else configured.schedule(body, id);
    } catch (error) {
      if (error instanceof TaskQueueFullError) {
        refusals++;
        if (!refused) fail(3, `task ${id}: refused with ${waiting} waiting, limit ${queueLimit}: ${error.message}`);
      } else if (!(error instanceof TasksError && plan.shield && before.shuttingDown)) {
        fail(3, `task ${id}: schedule() threw ${String(error)}`);
      }
      return;
    }
    if (refused) fail(3, `task ${id}: admitted with ${waiting} waiting in ${group}, queueLimit ${queueLimit}`);
    admitted[g]++;
    if (!deferred || settledRequests.has(plan.request)) readyKey.set(id, key);
    else waitingForRequest[plan.request].push({ id, mode: plan.mode });
    checkCounts(`after scheduling task ${id}`);
  };

  const settleRequest = (r: number) => {
    settledRequests.add(r);
    // The request releases its afterRoute tasks, then its afterResponse tasks, each in order.
    for (const mode of ['afterRoute', 'afterResponse']) {
      for (const entry of waitingForRequest[r]) if (entry.mode === mode) readyKey.set(entry.id, ++readySequence);
    }
    requests[r].handlerSettled(s.requests[r].ok);
    checkCounts(`after request ${r} settled`);
  };

  let idleCalls = 0;
  let idleResolved = 0;
  const checkIdle = () => {
    idleCalls++;
    void tasks.onIdle().then(() => {
      idleResolved++;
      const stats = tasks.stats();
      if (liveOf(stats) !== 0) fail(5, `onIdle() resolved with ${liveOf(stats)} tasks live`);
    });
  };

  let shutdownAt: number | undefined;
  let shutdownDone: number | undefined;
  const shutdown = (how: 'close' | 'drained') => {
    shutdownAt = Date.now();
    const done = how === 'close' ? close() : tasks.drained();
    void done.then(() => (shutdownDone = Date.now()));
  };

  s.tasks.forEach((plan, id) => setTimeout(() => schedule(id), plan.at));
  s.requests.forEach((request, r) => setTimeout(() => settleRequest(r), request.at));
  s.idleChecks.forEach((at) => setTimeout(checkIdle, at));
  if (s.shutdown !== undefined) {
    const { how } = s.shutdown;
    setTimeout(() => shutdown(how), s.shutdown.at);
  }
  try {
    await jest.runAllTimersAsync();
    checkIdle();
    await jest.runAllTimersAsync();
  } finally {
    random.mockRestore();
  }

  // Invariant 3: everything admitted has settled, exactly once.
  const stats: TasksStats = checkCounts('at the end');
  if (liveOf(stats) !== 0) fail(3, `${liveOf(stats)} tasks still live at the end: ${JSON.stringify(stats)}`);
  GROUPS.forEach((name, g) => {
    const settled = stats.groups[name] === undefined ? 0 : settledOf(stats.groups[name]);
    if (settled !== admitted[g]) fail(3, `group ${name}: ${settled} settled, ${admitted[g]} admitted`);
  });
  // Invariant 4: every task that failed or timed out had its onError called, and no other did.
  if (onErrorTotal !== stats.failed + stats.timedOut) {
    fail(4, `${onErrorTotal} onError calls for ${stats.failed} failed + ${stats.timedOut} timed out`);
  }
  // Invariant 5: every onIdle() resolved.
  if (idleResolved !== idleCalls) fail(5, `${idleCalls - idleResolved} of ${idleCalls} onIdle() never resolved`);
  // Invariant 2: first attempts of a group start in the order the tasks became ready.
  firstStarts.forEach((ids, g) => {
    const keys = ids.map((id) => readyKey.get(id) ?? -1);
    if (keys.some((key, i) => key === -1 || (i > 0 && key < keys[i - 1]))) {
      fail(2, `group ${GROUPS[g]}: first attempts started as tasks [${ids}], ready as [${keys}]`);
    }
  });
  if (shutdownAt !== undefined) {
    if (shutdownDone === undefined) fail(3, 'the shutdown never resolved');
    else if (shutdownDone - shutdownAt > Math.max(s.shutdownTimeout, 1)) {
      // Node (and the fake clock) run a 0 ms timer after 1 ms.
      fail(3, `the shutdown took ${shutdownDone - shutdownAt} ms > shutdownTimeout ${s.shutdownTimeout}`);
    }
  }
  const errors = logger.tasks('error');
  if (errors.length > 0) fail(4, `the library logged errors: ${errors.map((line) => line.message).join(' | ')}`);
  await dispose();
  const seen: Record<string, number> = { retries, refusals, shutdowns: shutdownAt === undefined ? 0 : 1 };
  for (const key of OUTCOMES) seen[key] = stats[key];
  return { violations, seen };
}

describe('task control under random mixes of tasks and a shutdown (fast-check, virtual time)', () => {
  beforeAll(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
  });
  afterAll(() => {
    jest.useRealTimers();
  });

  /** Runs RUNS scenarios on `backend`, expecting no violation `which` selects; then checks every path was reached. */
  const holds = async (backend: Backend, which: (invariant: number) => boolean) => {
    const seen: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(scenarioArb(10), async (scenario) => {
        const run = await runScenario(scenario, backend);
        expect(run.violations.filter((v) => which(v.invariant)).map((v) => `${v.invariant}. ${v.message}`)).toEqual([]);
        for (const [key, count] of Object.entries(run.seen)) seen[key] = (seen[key] ?? 0) + count;
      }),
      { numRuns: RUNS },
    );
    const unreached = ['retries', 'refusals', 'shutdowns', ...OUTCOMES].filter((key) => !((seen[key] ?? 0) > 0));
    expect(unreached).toEqual([]);
  };

  it('1. never more tasks running than `concurrency` per group nor `maxConcurrency` in all', () =>
    holds('direct', (n) => n === 1));
  it('2. first attempts start in the order their tasks became ready, within each group', () =>
    holds('direct', (n) => n === 2));
  it('3. every admitted task settles exactly once; refusals throw TaskQueueFullError and are not counted', () =>
    holds('direct', (n) => n === 3));
  it('4. attempts never exceed `retry`; onError is called once, after the last attempt', () =>
    holds('direct', (n) => n === 4));
  it('5. onIdle() resolves only when no task is pending, queued, running or retrying', () =>
    holds('direct', (n) => n === 5));
  it('6. the stats counters add up to the tasks admitted, in all and per group', () => holds('direct', (n) => n === 6));

  it('all six hold through TasksModule.forRoot() in a Nest context, shut down by app.close() or tasks.drained()', () =>
    holds('nest', () => true));
});
