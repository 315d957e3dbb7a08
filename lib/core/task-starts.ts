import type { AsyncResource } from 'node:async_hooks';
import type { ScheduledTask } from './scheduled-task.js';

/**
 * When an attempt begins, and in which async context. Start order is scheduling order:
 * - a task with no captured scope (an immediate one) starts on a microtask, in the current
 *   context — never inside the `schedule()` call;
 * - a task with a scope (one that waited: for its request, a slot, a retry) starts in that scope,
 *   at once where the caller is a fresh turn (`now`: a response's `close`, a handler's
 *   completion) and no task still waits for its microtask — saving a microtask, about 0.5 µs on
 *   Node 24 — else on a microtask too, after those.
 */
export class TaskStarts {
  /** Tasks whose microtask has not run yet. */
  private hopping = 0;

  constructor(private readonly execute: (task: ScheduledTask) => void) {}

  begin(task: ScheduledTask, scope: AsyncResource | undefined, now: boolean): void {
    if (scope === undefined) this.hop(task);
    else if (now && this.hopping === 0) scope.runInAsyncScope(this.execute, null, task);
    else scope.runInAsyncScope(this.hop, null, task);
  }

  /** Starts the task on a microtask, in the current async context. */
  private readonly hop = (task: ScheduledTask): void => {
    this.hopping++;
    void Promise.resolve(task).then(this.land);
  };

  private readonly land = (task: ScheduledTask): void => {
    this.hopping--;
    this.execute(task);
  };
}
