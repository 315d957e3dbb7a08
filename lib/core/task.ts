import { TaskConfig, type TaskOptions } from './task-config.js';
import { TasksError } from './tasks.errors.js';
import { messages, type TaskMode } from './tasks.messages.js';

/**
 * A scheduled task, as returned by `schedule()` and handed to `onError` handlers.
 *
 * @typeParam A - the argument types of `func`. The default is `any[]` so that every
 *   `Task<[string]>` is also a plain `Task` (a function type is contravariant in its parameters).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface Task<A extends unknown[] = any[]> {
  /** The config's name if any layer set one, else the function's name, else `'anonymous task'`. */
  readonly name: string;
  /** The merged config: global < `@Task()` < call site. */
  readonly config: TaskConfig;
  /** The function that runs. */
  readonly func: (...args: A) => unknown;
  /** The arguments it is called with. */
  readonly args: Readonly<A>;
  /**
   * Aborted when the application shuts down and the task is not shielded, or when a shielded
   * task outlives `shutdownTimeout`. Pass it to `fetch`, streams and timers to stop early.
   */
  readonly signal: AbortSignal;
  /**
   * The current (or last) attempt, from 1; 0 until the task first starts. Above 1 only with
   * `retry`. Each attempt gets a fresh `signal` if a timeout aborted the last one.
   */
  readonly attempt: number;
  /** When it was scheduled to start: `'immediate'`, `'afterRoute'` or `'afterResponse'`. */
  readonly mode: TaskMode;
  /** The group whose `concurrency`, `queueLimit` and statistics the task shares: its `group`, else its name. */
  readonly group: string;
}

const decorated = new WeakMap<object, TaskConfig>();
/**
 * The same configs by class prototype and method name: a decorator applied above `@Task()`
 * (tracing, transactions) may replace the method, and the class then holds a function `@Task()`
 * never saw.
 */
const byMethodName = new WeakMap<object, Map<PropertyKey, TaskConfig>>();
/** The `@Task()` methods as declared: unbound, so `this` is whatever calls them. */
const declared = new WeakSet<object>();

/**
 * Gives a provider or controller method its task configuration, applied whenever the method
 * is scheduled (call-site options still win). On singleton providers and controllers the method
 * is bound to its instance, so `tasks.schedule(this.mailer.send, id)` keeps `this`.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class Mailer {
 *   @Task({ name: 'send_confirmation', shield: true })
 *   async sendConfirmation(orderId: string) {}
 * }
 * ```
 */
export function Task(options: TaskOptions = {}) {
  const config = new TaskConfig(options);
  return <T extends (...args: never[]) => unknown>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): void => {
    if (typeof descriptor.value !== 'function') {
      throw new TasksError(messages.expected(`@Task() target \`${String(key)}\``, 'a method', descriptor.value));
    }
    decorated.set(descriptor.value, config);
    declared.add(descriptor.value);
    let methods = byMethodName.get(target);
    if (methods === undefined) byMethodName.set(target, (methods = new Map()));
    methods.set(key, config);
  };
}

/** The `@Task()` config of a function, if it (or the method it was bound from) has one. */
export function decoratedConfig(fn: object): TaskConfig | undefined {
  return decorated.get(fn);
}

/**
 * The `@Task()` config of the method that `instance`'s class (or the nearest parent class
 * defining it) holds under `key`: that of the function itself, else the one `@Task()` recorded
 * for that class and name (the function was replaced by a decorator above `@Task()`). An own
 * property of the instance is skipped, so a method the instance rebound keeps the config.
 */
export function classMethodConfig(instance: object, key: PropertyKey): TaskConfig | undefined {
  for (
    let proto: object | null = Object.getPrototypeOf(instance);
    proto !== null;
    proto = Object.getPrototypeOf(proto)
  ) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, key);
    if (descriptor === undefined) continue;
    if (typeof descriptor.value !== 'function') return undefined;
    return decorated.get(descriptor.value as object) ?? byMethodName.get(proto)?.get(key);
  }
  return undefined;
}

/** Records that `bound` is a method bound to its instance, so it carries the method's `@Task()` config. */
export function registerBound(bound: object, config: TaskConfig): void {
  decorated.set(bound, config);
}

/** Whether `fn` is a `@Task()` method as declared, not bound to an instance. */
export function isUnboundMethod(fn: object): boolean {
  return declared.has(fn);
}
