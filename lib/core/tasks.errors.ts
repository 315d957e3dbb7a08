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
