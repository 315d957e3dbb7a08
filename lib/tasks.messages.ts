/**
 * Every log line and error text nestjs-tasks writes. Tests assert with these
 * same functions, so a wording change is made here once.
 */
import { inspect, types } from 'node:util';

/** Timing modes, as users write them. */
export type TaskMode = 'immediate' | 'afterRoute' | 'afterResponse';

/** Renders any value for a message without ever throwing. */
export function describeValue(value: unknown): string {
  let type: string = typeof value;
  try {
    const shown =
      typeof value === 'function'
        ? `[function ${value.name || 'anonymous'}]`
        : inspect(value, { depth: 1, breakLength: Infinity, maxStringLength: 80 });
    if (value === null) type = 'null';
    return `\`${shown}\` (${type})`;
  } catch {
    return `\`[unprintable]\` (${type})`;
  }
}

/**
 * Whether `value` is an Error, from this realm or another (errors made by Node itself are
 * another realm's under Jest's VM contexts); false, never a throw, for a Proxy whose traps throw.
 */
function isError(value: unknown): value is Error {
  try {
    return types.isNativeError(value) || value instanceof Error;
  } catch {
    return false;
  }
}

/** The `name` of an Error (any realm), or undefined; never throws. */
export function errorName(error: unknown): string | undefined {
  try {
    return isError(error) && typeof error.name === 'string' ? error.name : undefined;
  } catch {
    return undefined;
  }
}

/** Renders a thrown value (Error or not) as one line, without ever throwing. */
export function describeError(error: unknown): string {
  if (isError(error)) {
    try {
      return `${error.name}: ${error.message}`;
    } catch {
      return '[unprintable Error]';
    }
  }
  return `non-Error value ${describeValue(error)}`;
}

/** The stack of a thrown value, if it has a readable one. */
export function stackOf(error: unknown): string | undefined {
  try {
    return isError(error) && typeof error.stack === 'string' ? error.stack : undefined;
  } catch {
    return undefined;
  }
}

export const messages = {
  expected: (what: string, expectation: string, value: unknown) =>
    `Expected ${what} to be ${expectation}, got ${describeValue(value)}.`,
  notAFunction: (value: unknown) =>
    `Expected the task to be a function, got ${describeValue(value)}. Pass the function itself, e.g. \`tasks.schedule(sendEmail, to)\`, not its result \`tasks.schedule(sendEmail(to))\`.`,
  unknownOption: (key: string, where: string, allowed: readonly string[]) =>
    `Unknown option \`${key}\` in ${where}. Allowed options: ${allowed.join(', ')}.`,
  outsideRequest: (mode: TaskMode) =>
    `tasks.${mode}.schedule() was called outside an HTTP request, where there is no ${mode === 'afterRoute' ? 'route handler' : 'response'} to wait for. Call it from a controller, guard, interceptor, pipe or exception filter (or code they call) of an HTTP request handled by Nest with TasksModule.forRoot() imported, or use tasks.schedule() to run the task now.`,
  taskFailed: (name: string, error: unknown, unboundMethod = false) =>
    `Task "${name}" failed: ${describeError(error)}` +
    (unboundMethod
      ? `. "${name}" is a @Task() method that ran without its instance (\`this\` is undefined): it was scheduled before app.init() bound it, or its provider is request-scoped. Schedule it after the app has started, or pass \`instance.method.bind(instance)\`.`
      : ''),
  onErrorFailed: (name: string, error: unknown, handlerError: unknown) =>
    `The onError handler of task "${name}" failed: ${describeError(handlerError)}. The task's own error was: ${describeError(error)}`,
  droppedFailedRequest: (name: string, mode: TaskMode) =>
    `Task "${name}" (${mode}) was not run: its request failed before the route handler completed. Set \`always: true\` on the task to run it anyway.`,
  abortedShutdown: (name: string) =>
    `Task "${name}" was aborted: the application is shutting down and the task is not shielded.`,
  stoppedByAbort: (name: string, reason: string) =>
    `Task "${name}" stopped on its abort signal (${reason}). Not a failure: onError is not called.`,
  shieldedAfterShutdown: (name: string) =>
    `Shielded task "${name}" was scheduled after the shutdown drain ended (or passed its deadline): nothing would await it, so it was not scheduled. Schedule it before the drain ends — in onModuleDestroy or beforeApplicationShutdown — or await the work directly in your own hook.`,
  droppedShutdown: (name: string) =>
    `Task "${name}" was not run: the application is shutting down and the task is not shielded.`,
  shutdownDeadline: (timeout: number, names: readonly string[]) =>
    `Shutdown timeout of ${timeout} ms reached; ${names.length} shielded task(s) still pending were aborted: ${names.map((name) => `"${name}"`).join(', ')}`,
  shutdownWaiting: (count: number, timeout: number) =>
    `Waiting up to ${timeout} ms for ${count} shielded task(s) to finish`,
} as const;
