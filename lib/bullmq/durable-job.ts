import type { RetryPolicy } from '../control/retry-policy.js';
import { currentTask } from '../core/current-task.js';
import type { Task } from '../core/task.js';
import type { TaskConfig } from '../core/task-config.js';
import type { TaskMode } from '../core/tasks.messages.js';

/** What a durable task's job holds in Redis (its name is the task's name). */
export interface DurableJobData {
  /** The arguments, JSON-safe (Dates tagged). */
  readonly args: unknown[];
  readonly mode: TaskMode;
  /** The task's `timeout` per attempt, as the scheduling process merged it. */
  readonly timeout?: number;
  /** The task's backoff, as the scheduling process merged it (attempts are BullMQ's `attempts`). */
  readonly retry?: Omit<RetryPolicy, 'attempts' | 'retryIf'>;
}

/**
 * A durable task as it runs on a worker: `currentTask()` inside the job returns one.
 *
 * @example
 * ```ts
 * @Task({ name: 'charge', durable: true, retry: 5 })
 * async charge(orderId: string) {
 *   const { jobId } = currentDurableTask()!; // the same on every attempt
 *   await payments.charge(orderId, { idempotencyKey: jobId });
 * }
 * ```
 */
export interface DurableTask<A extends unknown[] = unknown[]> extends Task<A> {
  /** The BullMQ job id: the same on every attempt and after a crash, for idempotency. */
  readonly jobId: string;
}

/** The task of the BullMQ job that is running, if `currentTask()` is one. */
export function currentDurableTask(): DurableTask | undefined {
  const task = currentTask();
  return task !== undefined && 'jobId' in task ? (task as DurableTask) : undefined;
}

/** One attempt of a durable job on a worker (internal). */
export class DurableJobTask implements DurableTask {
  constructor(
    readonly name: string,
    readonly jobId: string,
    readonly config: TaskConfig,
    readonly func: (...args: unknown[]) => unknown,
    readonly args: unknown[],
    readonly mode: TaskMode,
    readonly attempt: number,
    readonly signal: AbortSignal,
  ) {}

  get group(): string {
    return this.config.group ?? this.name;
  }
}
