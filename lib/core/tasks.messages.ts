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

/** Renders a property key for a message: a string as `'name'`, anything else as a value. */
function describeKey(key: unknown): string {
  return typeof key === 'string' ? `'${key}'` : describeValue(key);
}

/** The class name of an object (`Mailer`), without ever throwing. */
function classOf(instance: object): string {
  try {
    const name: unknown = (Object.getPrototypeOf(instance) as { constructor?: { name?: unknown } } | null)?.constructor
      ?.name;
    return typeof name === 'string' && name !== '' ? name : describeValue(instance);
  } catch {
    return describeValue(instance);
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
  badShutdownTimeout: (value: unknown): string =>
    messages.expected(
      '`shutdownTimeout`',
      "a number of milliseconds >= 0 (or Infinity), or a string holding one such as '10000' or 'Infinity' (as environment variables give)",
      value,
    ),
  asyncOptionsSource: (given: readonly string[]) =>
    `TasksModule.forRootAsync() takes exactly one of useFactory, useClass and useExisting, got ${given.length === 0 ? 'none' : given.join(' and ')}. Pass a factory function (\`useFactory: (config) => ({ shutdownTimeout: config.get('TASKS_SHUTDOWN_MS') })\` with \`inject\`), a class implementing TasksOptionsFactory (\`useClass\`), or an existing provider of one (\`useExisting\`).`,
  injectWithoutFactory: (source: string) =>
    `TasksModule.forRootAsync() was given \`inject\` with \`${source}\`, but \`inject\` only lists the arguments of \`useFactory\`. The options factory gets its dependencies through its own constructor: remove \`inject\`.`,
  notAnOptionsFactory: (value: unknown) =>
    `Expected the options factory of TasksModule.forRootAsync() to have a createTasksOptions() method, got ${describeValue(value)}. Implement TasksOptionsFactory: \`createTasksOptions(): TasksModuleOptions\`.`,
  unknownAdapter: (type: string) =>
    `TasksModule supports the Express and Fastify HTTP adapters; this app's adapter is \`${type}\`, whose requests it cannot follow (when a handler completes, when a response has been sent). Use @nestjs/platform-express or @nestjs/platform-fastify, or a standalone application context (no HTTP adapter) for immediate tasks only.`,
  bareModule: () =>
    'TasksModule was imported without forRoot(): import `TasksModule.forRoot()` (or `TasksModule.forRootAsync({ ... })`) once, in the root module, instead of the bare `TasksModule` class.',
  doubleImport: (count: number, importers: readonly string[]) =>
    `TasksModule was imported ${count} times with different options${importers.length === 0 ? '' : ` (by ${importers.join(', ')})`}: each would mount its own request hook and task runner. Import \`TasksModule.forRoot()\` (or \`TasksModule.forRootAsync({ ... })\`) once, in the root module; it is global, so other modules inject TasksService without importing it.`,
  notAFunction: (value: unknown) =>
    `Expected the task to be a function, got ${describeValue(value)}. Pass the function itself, e.g. \`tasks.schedule(sendEmail, to)\`, not its result \`tasks.schedule(sendEmail(to))\`.`,
  unknownOption: (key: string, where: string, allowed: readonly string[]) =>
    `Unknown option \`${key}\` in ${where}. Allowed options: ${allowed.join(', ')}.`,
  outsideRequest: (mode: Exclude<TaskMode, 'immediate'>, name: string, via: 'call' | 'schedule') =>
    `Task "${name}": tasks.${mode}.${via}() was called outside an HTTP request, where there is no ${mode === 'afterRoute' ? 'route handler' : 'response'} to wait for. Call it from a controller, guard, interceptor, pipe or exception filter (or code they call) of an HTTP request handled by Nest with TasksModule.forRoot() imported, or use tasks.${via}() to run the task now.`,
  contextLost: (mode: Exclude<TaskMode, 'immediate'>, name: string, via: 'call' | 'schedule') =>
    `Task "${name}": tasks.${mode}.${via}() was called in a route handler that runs without its request's async context, so there is no request to wait for. Either a middleware or library lost the context on the way — it called \`next()\` (or resolved a promise) from a callback of a connection pool, queue or emitter made outside the request: wrap that callback with \`AsyncResource.bind(next)\` from 'node:async_hooks' — or the handler was called directly, outside an HTTP request.`,
  notAnInstance: (value: unknown, key: unknown) =>
    `Expected the instance given to call() to be an object, got ${describeValue(value)}. Pass the object that owns the method, then the method's name and arguments: \`tasks.call(this.mailer, ${describeKey(key)}, ...args)\`.`,
  notAMethod: (instance: object, key: unknown, value: unknown) =>
    `Expected ${describeKey(key)} to be a method of ${classOf(instance)}, got ${describeValue(value)}. Pass the name of one of its methods as a string, then that method's arguments, e.g. \`tasks.call(this.mailer, 'sendConfirmation', orderId)\`.`,
  taskFailed: (name: string, error: unknown, unboundMethod = false) =>
    `Task "${name}" failed: ${describeError(error)}` +
    (unboundMethod
      ? `. It is a @Task() method that ran without its instance (\`this\` was not set): it was scheduled before app.init() bound it, or its provider is request-scoped. Use \`tasks.call(instance, 'methodName', ...args)\`, which keeps \`this\` on any scope.`
      : ''),
  onErrorFailed: (name: string, error: unknown, handlerError: unknown) =>
    `The onError handler of task "${name}" failed: ${describeError(handlerError)}. The task's own error was: ${describeError(error)}`,
  droppedFailedRequest: (name: string, mode: TaskMode) =>
    `Task "${name}" (${mode}) was not run: its handler did not complete (it failed, or its request failed before reaching it). Set \`always: true\` on the task to run it anyway.`,
  untrackedRequest: (mode: Exclude<TaskMode, 'immediate'>, name: string, via: 'call' | 'schedule') =>
    `Task "${name}": tasks.${mode}.${via}() was called in an HTTP request that no Nest handler tracks (a route added to the server directly, such as \`app.getHttpAdapter().getInstance().get(...)\`, or a GraphQL server outside its resolvers), so nestjs-tasks cannot tell when or whether its handler completes. Schedule it from a Nest controller, resolver, guard, interceptor, pipe, filter or middleware; or set \`always: true\` to run it once the response has been sent whatever the outcome; or use tasks.${via}() to run it now.`,
  abortedShutdown: (name: string) =>
    `Task "${name}" was aborted: the application is shutting down and the task is not shielded.`,
  stoppedByAbort: (name: string, reason: string) =>
    `Task "${name}" stopped on its abort signal (${reason}). Not a failure: onError is not called.`,
  shieldedAfterShutdown: (name: string) =>
    `Shielded task "${name}" was scheduled after the shutdown drain ended (or passed its deadline): nothing would await it, so it was not scheduled. Schedule it before the drain ends — in onModuleDestroy or beforeApplicationShutdown — or await the work directly in your own hook.`,
  droppedShutdown: (name: string) =>
    `Task "${name}" was not run: the application is shutting down and the task is not shielded.`,
  shutdownDeadline: (timeout: number, names: readonly string[]) =>
    `Shutdown timeout of ${timeout} ms reached; ${names.length} shielded task(s) were still live (running ones aborted, waiting ones dropped): ${names.map((name) => `"${name}"`).join(', ')}`,
  badRetry: (value: unknown) =>
    messages.expected(
      '`retry`',
      "a number of attempts >= 1, false, or an object such as `{ attempts: 3, delay: 1000, backoff: 'exponential' }`",
      value,
    ),
  badMaxConcurrency: (value: unknown) =>
    messages.expected('`maxConcurrency`', 'an integer >= 1, or Infinity (or undefined)', value),
  timedOut: (name: string, timeout: number, attempt: number) =>
    `Task "${name}" timed out: attempt ${attempt} ran longer than its timeout of ${timeout} ms.`,
  stillRunningAfterTimeout: (name: string, timeout: number) =>
    `Task "${name}" is still running after its timeout of ${timeout} ms: its function does not stop on \`currentTask().signal\`. It no longer counts for onIdle(), the shutdown drain or its concurrency slot; pass the signal to fetch, streams and timers so that it stops.`,
  retrying: (name: string, attempt: number, attempts: number, delay: number, error: unknown) =>
    `Task "${name}" attempt ${attempt} of ${attempts} failed: ${describeError(error)}. Retrying in ${Math.round(delay)} ms.`,
  retryIfFailed: (name: string, error: unknown) =>
    `The retryIf of task "${name}" threw (${describeError(error)}): the task is not retried.`,
  droppedRetrying: (name: string, attempt: number) =>
    `Task "${name}" was not retried after attempt ${attempt}: the application is shutting down and the task is not shielded.`,
  queueFull: (name: string, group: string, limit: number, queued: number, pending: number) =>
    `Task "${name}" was not scheduled: group "${group}" already has ${queued + pending} task(s) waiting (${queued} queued for a concurrency slot, ${pending} waiting for their request), its queueLimit of ${limit}. Answer 503 and let the client retry (catch TaskQueueFullError in an exception filter), or raise \`queueLimit\` or \`concurrency\` for the group.`,
  intercepted: (name: string) => `Task "${name}" was captured, not run (the testing kit's capture mode).`,
  observerFailed: (error: unknown) => `A nestjs-tasks observer hook failed: ${describeError(error)}`,
  drained: (count: number, ms: number) => `Drained ${count} shielded task(s) in ${ms} ms`,
  durableWithoutModule: (name: string) =>
    `Task "${name}" is durable (\`durable: true\`), but no durable queue is installed to hand it to. Import \`DurableTasksModule.forRoot({ connection, queue })\` from 'nestjs-tasks/bullmq' next to TasksModule (and install bullmq and ioredis), or remove \`durable: true\` to run the task in this process.`,
  shutdownWaiting: (count: number, timeout: number) =>
    `Waiting up to ${timeout} ms for ${count} shielded task(s) to finish`,
} as const;
