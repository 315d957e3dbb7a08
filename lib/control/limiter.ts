import type { ScheduledTask } from '../core/scheduled-task.js';
import { TaskQueueFullError } from '../core/tasks.errors.js';
import type { TaskGroup, TaskGroups } from './task-groups.js';

/**
 * Decides when a task may start: its group's `concurrency`, the global `maxConcurrency`, and the
 * first-in first-out queue of each group. Refuses a task at schedule time when its group's
 * `queueLimit` is reached, so an overflow never shows after a response has gone.
 */
export class Limiter {
  /** Groups with queued tasks, for picking the oldest waiting task when a global slot frees. */
  private readonly waiting = new Set<TaskGroup>();
  private sequence = 0;

  constructor(
    private readonly groups: TaskGroups,
    private readonly maxConcurrency: number,
  ) {}

  /**
   * The {@link TaskQueueFullError} to throw when the task would have to wait and its group
   * already has `queueLimit` tasks waiting (a deferred task always waits, for its request);
   * undefined when it is admitted.
   */
  refusal(task: ScheduledTask, deferred: boolean): TaskQueueFullError | undefined {
    const limit = task.config.queueLimit;
    if (limit === undefined || limit === Infinity) return undefined;
    const group = task.counts;
    if (group.queued + group.pending < limit) return undefined;
    if (!deferred && this.canStart(task)) return undefined;
    return new TaskQueueFullError(task.name, group.name, limit, group.queued, group.pending);
  }

  /** Whether the task may start now: nobody queued before it, and a slot free in its group and overall. */
  canStart(task: ScheduledTask): boolean {
    const group = task.counts;
    return (
      group.queued === 0 &&
      group.running < (task.config.concurrency ?? Infinity) &&
      this.groups.total.running < this.maxConcurrency
    );
  }

  /** Puts the task at the end of its group's queue (the caller counts it as queued). */
  enqueue(task: ScheduledTask): void {
    task.counts.push(task, ++this.sequence);
    this.waiting.add(task.counts);
  }

  /**
   * The next queued task that may start now that a slot of `group` (and one overall) is free,
   * taken off its queue; undefined if none may.
   */
  next(group: TaskGroup): ScheduledTask | undefined {
    if (this.groups.total.running >= this.maxConcurrency) return undefined;
    if (this.maxConcurrency === Infinity) return this.take(group);
    // A global slot: the longest-waiting task among the groups that have a slot free.
    let oldest: TaskGroup | undefined;
    for (const candidate of this.waiting) {
      if (this.headIfFree(candidate) === undefined) continue;
      if (oldest === undefined || candidate.headSequence() < oldest.headSequence()) oldest = candidate;
    }
    return oldest === undefined ? undefined : this.take(oldest);
  }

  private take(group: TaskGroup): ScheduledTask | undefined {
    const head = this.headIfFree(group);
    if (head !== undefined) group.advance();
    return head;
  }

  /** The group's first queued task if its group has a slot for it. */
  private headIfFree(group: TaskGroup): ScheduledTask | undefined {
    const head = group.peek();
    if (head === undefined) {
      this.waiting.delete(group);
      return undefined;
    }
    return group.running < (head.config.concurrency ?? Infinity) ? head : undefined;
  }
}
