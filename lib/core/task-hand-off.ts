import type { Task } from './task.js';
import { TaskConfig } from './task-config.js';

/**
 * Where tasks with `durable: true` go instead of running in this process: registered with
 * `TaskRunner.setHandOff()` by nestjs-tasks' durable integration (`nestjs-tasks/bullmq`). The
 * runner calls `check` when such a task is created and `send` when it would have started.
 */
export interface TaskHandOff {
  /** Refuses a durable task at `schedule()`/`call()` by throwing a `TasksError` naming the fix. */
  check(task: Task): void;
  /**
   * Stores the task where a worker will take it; resolves once the store has acknowledged it.
   * A rejection is the task's failure (`onError`, else the error log). It should give up when
   * `task.signal` aborts (the shutdown deadline).
   */
  send(task: Task): Promise<void>;
}

/**
 * What a durable task's config becomes in the process that hands it off: shielded, so that the
 * shutdown drain awaits the hand-off, and never waiting for a local slot, since its
 * `concurrency` applies on the worker. A config, not plain options, so that merging it onto a
 * task's config is cached rather than validated again for every durable task.
 */
export const HANDED_OFF = new TaskConfig({ shield: true, concurrency: Infinity });
