/** Names shared by the durable bench and its children, apart from the apps so that loading them loads no bullmq. */

/**
 * The routes of the durable HTTP row, each answering `{ hello: 'world' }` and storing one job per request:
 * - `durableTask`: `tasks.afterResponse.schedule(this.receipts.send, id)` on a `durable: true` `@Task`;
 * - `queueAdd`: the same job added by hand in the handler, `void queue.add(...)`: the baseline;
 * - `afterResponseAdd` (reference): a plain afterResponse task doing that `queue.add(...)`, which
 *   splits the difference between the other two into TasksModule's per-request cost and the
 *   durable hand-off's own;
 * - `closeAdd` (reference): that `queue.add(...)` after the response by hand, in a
 *   `res.once('close', ...)` listener: what deferring the add costs without TasksModule.
 */
export const DURABLE_ROUTES = ['durableTask', 'queueAdd', 'afterResponseAdd', 'closeAdd'] as const;
export type DurableRoute = (typeof DURABLE_ROUTES)[number];

/**
 * The two workers of the jobs/s row, running the same function on the same jobs:
 * - `library`: `DurableTasksModule` with `worker: { concurrency }` in `NestFactory.createApplicationContext`;
 * - `plain`: a BullMQ `Worker` with the same concurrency.
 */
export const WORKER_KINDS = ['library', 'plain'] as const;
export type WorkerKind = (typeof WORKER_KINDS)[number];

/** The BullMQ queue of the durable bench (its own Redis server, flushed between runs). */
export const BENCH_QUEUE = 'bench';
/** The `@Task` name of the bench's durable task: the jobs' name. */
export const BENCH_JOB = 'bench_receipt';
