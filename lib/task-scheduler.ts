import { requestStorage } from './request-tasks.js';
import type { Task } from './task.js';
import { TaskConfig, type TaskOptions } from './task-config.js';
import type { TaskRunner } from './task-runner.js';
import { TasksError } from './tasks.errors.js';
import { messages, type TaskMode } from './tasks.messages.js';

/** Schedules tasks in one timing mode, with one call-site config (if any). */
export interface ConfiguredScheduler {
  /**
   * Schedules `fn(...args)`; the argument types are checked against `fn`.
   * @returns the scheduled {@link Task}
   */
  schedule<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Task<A>;
}

/**
 * The schedulers of one timing mode: `tasks` (immediate), `tasks.afterRoute` and
 * `tasks.afterResponse` each have `schedule()` and `task(options)`.
 */
export class TaskScheduler implements ConfiguredScheduler {
  /** @internal */
  constructor(
    protected readonly runner: TaskRunner,
    private readonly mode: TaskMode,
    private readonly callSite?: TaskConfig,
  ) {}

  /**
   * Schedules `fn(...args)` in this mode. Immediate tasks start on a microtask, never inside
   * this call; afterRoute and afterResponse tasks wait for their request.
   *
   * @throws {TasksError} if `fn` is not a function, or for a deferred mode outside a request
   * @example
   * ```ts
   * tasks.afterResponse.schedule(sendReceipt, orderId);
   * ```
   */
  schedule<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Task<A> {
    const mode = this.mode;
    if (mode === 'immediate') {
      const task = this.runner.create(fn, args, this.callSite, false);
      this.runner.start(task);
      return task as unknown as Task<A>;
    }
    const request = requestStorage.getStore();
    if (request === undefined) throw new TasksError(messages.outsideRequest(mode));
    const task = this.runner.create(fn, args, this.callSite, true);
    request.add(mode, task);
    return task as unknown as Task<A>;
  }

  /**
   * A scheduler in the same mode whose tasks get `options` on top of the global and
   * `@Task()` layers.
   *
   * @throws {TasksError} naming any option of the wrong type
   * @example
   * ```ts
   * tasks.afterRoute.task({ name: `finalize_${id}`, shield: true }).schedule(finalize, id);
   * ```
   */
  task(options: TaskOptions): ConfiguredScheduler {
    const config = options instanceof TaskConfig ? options : new TaskConfig(options);
    const merged = this.callSite === undefined ? config : this.callSite.merge(config);
    return new TaskScheduler(this.runner, this.mode, merged);
  }
}
