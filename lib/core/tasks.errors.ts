import { messages } from './tasks.messages.js';

/**
 * Base class of every error nestjs-tasks throws: bad input to the public API,
 * and calls made where they cannot work (for example `afterResponse` outside a
 * request). Each message names the value at fault and the fix.
 *
 * @example
 * ```ts
 * try {
 *   tasks.afterResponse.schedule(sendReceipt, id);
 * } catch (error) {
 *   if (error instanceof TasksError) logger.warn(error.message);
 * }
 * ```
 */
export class TasksError extends Error {
  override readonly name: string = this.constructor.name;
}

/**
 * The reason a task's `signal` aborts with, and the error its attempt fails with, when the attempt
 * outlives the task's `timeout`. `onError` receives it after the last attempt.
 *
 * @example
 * ```ts
 * onError: (task, error) => {
 *   if (error instanceof TaskTimeoutError) metrics.increment('task_timeout', { task: task.name });
 * }
 * ```
 */
export class TaskTimeoutError extends TasksError {
  constructor(
    /** The task's name. */
    readonly taskName: string,
    /** The limit it outlived, in milliseconds. */
    readonly timeout: number,
    /** The attempt that timed out (1-based). */
    readonly attempt: number,
  ) {
    super(messages.timedOut(taskName, timeout, attempt));
  }
}

/**
 * Thrown by `schedule()` and `call()` when the task's group already has `queueLimit` tasks
 * waiting: the task is not scheduled. Answer 503 (or retry later) where it reaches you.
 *
 * @example
 * ```ts
 * @Catch(TaskQueueFullError)
 * export class TasksBusyFilter implements ExceptionFilter {
 *   constructor(private readonly adapterHost: HttpAdapterHost) {}
 *
 *   catch(error: TaskQueueFullError, host: ArgumentsHost) {
 *     const { httpAdapter } = this.adapterHost;
 *     const response: unknown = host.switchToHttp().getResponse();
 *     httpAdapter.setHeader(response, 'Retry-After', '5');
 *     httpAdapter.reply(response, { statusCode: 503, message: `Too busy: ${error.group}` }, 503);
 *   }
 * }
 * ```
 */
export class TaskQueueFullError extends TasksError {
  constructor(
    /** The name of the task that was refused. */
    readonly taskName: string,
    /** Its group. */
    readonly group: string,
    /** The group's `queueLimit`. */
    readonly queueLimit: number,
    /** Tasks of the group queued for a concurrency slot. */
    readonly queued: number,
    /** afterRoute/afterResponse tasks of the group still waiting for their request. */
    readonly pending: number,
  ) {
    super(messages.queueFull(taskName, group, queueLimit, queued, pending));
  }
}
