import { Injectable } from '@nestjs/common';
import type { TasksStats } from '../control/task-groups.js';
import { TaskRunner } from '../core/task-runner.js';
import { TaskScheduler } from './task-scheduler.js';

/**
 * Schedules background tasks. A singleton: inject it anywhere; inside an HTTP request it finds
 * that request's scheduler by itself, so it never makes its dependants request-scoped.
 *
 * - `tasks.call(instance, 'method', ...args)` / `tasks.schedule(fn, ...args)`: run now (on a
 *   microtask), in or out of a request;
 * - `tasks.afterRoute.call(...)` / `.schedule(...)`: once the route handler has completed;
 * - `tasks.afterResponse.call(...)` / `.schedule(...)`: once the handler has completed and the
 *   response is sent;
 * - `.task({ name, shield, onError, always })` on each: the same, with a call-site config.
 *
 * `call()` is the form for methods: it keeps `this` and the method's `@Task()` config on every
 * provider scope, and passes no unbound method (lint-clean under `unbound-method`).
 *
 * @example
 * ```ts
 * @Post()
 * create(@Body() body: CreateOrder) {
 *   const id = save(body);
 *   this.tasks.afterResponse.call(this.mailer, 'sendConfirmation', id);
 *   return { id };
 * }
 * ```
 */
@Injectable()
export class TasksService extends TaskScheduler {
  /** Tasks that start when the route handler's observable completes. */
  readonly afterRoute: TaskScheduler;
  /** Tasks that start when the handler has completed and the response has been sent (or the client left). */
  readonly afterResponse: TaskScheduler;

  constructor(runner: TaskRunner) {
    super(runner, 'immediate');
    this.afterRoute = new TaskScheduler(runner, 'afterRoute');
    this.afterResponse = new TaskScheduler(runner, 'afterResponse');
  }

  /**
   * Resolves when no task is pending, queued, running or retrying — at once if none is. Counts
   * every task scheduled and not yet settled, including deferred tasks still waiting for their
   * request, tasks waiting for a concurrency slot and tasks waiting for their next attempt.
   * Never rejects.
   *
   * @example
   * ```ts
   * await request(app.getHttpServer()).post('/orders');
   * await app.get(TasksService).onIdle();
   * ```
   */
  onIdle(): Promise<void> {
    return this.runner.onIdle();
  }

  /**
   * How many tasks are pending, queued, running and retrying now, and how many ended each way
   * since start-up: in total and per group. Cheap enough to poll every second (it walks the
   * groups, never the tasks).
   *
   * @example
   * ```ts
   * @Get('health/tasks')
   * stats() {
   *   const { queued, running, failed, groups } = this.tasks.stats();
   *   return { queued, running, failed, emails: groups.send_email };
   * }
   * ```
   */
  stats(): TasksStats {
    return this.runner.stats();
  }

  /**
   * For a provider that closes a resource shielded tasks use (a database client, a queue
   * connection): begins the shutdown drain if it has not begun and resolves when no shielded
   * task is left, or at `shutdownTimeout`. Await it in your closing hook — in any of Nest's
   * shutdown hooks, in any module order — before you close. Never rejects.
   *
   * Calling it begins shutdown: running unshielded tasks are aborted and new ones refused, as
   * when the module's own drain begins. Call it only from shutdown hooks.
   *
   * @example
   * ```ts
   * async onModuleDestroy() {
   *   await this.tasks.drained();
   *   await this.prisma.$disconnect();
   * }
   * ```
   */
  drained(): Promise<void> {
    return this.runner.drained();
  }
}
