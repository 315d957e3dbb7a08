import { CONTEXT_LOST, requestStorage } from '../contexts/request-tasks.js';
import { classMethodConfig, decoratedConfig, type Task } from '../core/task.js';
import { TaskConfig, type TaskOptions } from '../core/task-config.js';
import type { TaskRunner } from '../core/task-runner.js';
import { TasksError } from '../core/tasks.errors.js';
import { messages, type TaskMode } from '../core/tasks.messages.js';

/**
 * The argument lists a function accepts: one per call signature, so an overloaded function
 * accepts the arguments of any of its overloads (up to its last four).
 *
 * @example
 * ```ts
 * declare function send(to: string): void;
 * declare function send(to: string[], cc: string): void;
 * type A = TaskArgs<typeof send>; // [to: string] | [to: string[], cc: string]
 * ```
 */
export type TaskArgs<F> = F extends {
  (...args: infer A1 extends unknown[]): unknown;
  (...args: infer A2 extends unknown[]): unknown;
  (...args: infer A3 extends unknown[]): unknown;
  (...args: infer A4 extends unknown[]): unknown;
}
  ? A1 | A2 | A3 | A4
  : never;

/**
 * The keys of `T` whose value is a function: the method names `call()` accepts. Private and
 * protected members are not keys of a type, and an optional method may be missing, so neither
 * is among them.
 */
export type MethodName<T> = { [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T];

/** How a task was handed over, as messages name it. */
type Via = 'call' | 'schedule';

/** Schedules tasks in one timing mode, with one call-site config (if any). */
export interface ConfiguredScheduler {
  /**
   * Schedules `instance[method](...args)` with `this` set to `instance` and the method's
   * `@Task()` config applied, on singleton, request-scoped and transient providers alike. The
   * method name and the arguments are type-checked, and nothing is passed unbound, so
   * `@typescript-eslint/unbound-method` has nothing to flag.
   *
   * @returns the scheduled {@link Task}
   * @throws {TasksError} if `instance[method]` is not a function, or for a deferred mode outside
   *   a request
   * @example
   * ```ts
   * tasks.afterResponse.call(this.mailer, 'sendConfirmation', orderId);
   * ```
   */
  call<T extends object, K extends MethodName<T>>(
    instance: T,
    method: K,
    ...args: TaskArgs<T[K]>
  ): Task<TaskArgs<T[K]>>;

  /**
   * Schedules `fn(...args)`; the argument types are checked against `fn`.
   * @returns the scheduled {@link Task}
   */
  schedule<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Task<A>;
  /** Schedules an overloaded `fn(...args)`; the arguments match one of its overloads. */
  schedule<F extends (...args: never[]) => unknown>(fn: F, ...args: TaskArgs<F>): Task<TaskArgs<F>>;

  /**
   * A scheduler in the same mode whose tasks also get `options`, which win over the options
   * given to earlier `task()` calls of the chain.
   */
  task(options: TaskOptions): ConfiguredScheduler;
}

/**
 * The schedulers of one timing mode: `tasks` (immediate), `tasks.afterRoute` and
 * `tasks.afterResponse` each have `call()`, `schedule()` and `task(options)`.
 */
export class TaskScheduler implements ConfiguredScheduler {
  /** @internal */
  constructor(
    protected readonly runner: TaskRunner,
    private readonly mode: TaskMode,
    private readonly callSite?: TaskConfig,
  ) {}

  /**
   * Schedules `instance[method](...args)` in this mode, with `this` set to `instance`. The
   * method's `@Task()` config applies (call-site options still win), whatever the provider's
   * scope. `task.func` is the method bound to `instance`; without a configured name the task is
   * named after the method.
   *
   * @throws {TasksError} if `instance[method]` is not a function, or for a deferred mode outside
   *   a request
   * @example
   * ```ts
   * tasks.afterResponse.call(this.mailer, 'sendConfirmation', orderId);
   * tasks.afterRoute.task({ shield: true }).call(this.ledger, 'record', orderId, total);
   * ```
   */
  call<T extends object, K extends MethodName<T>>(
    instance: T,
    method: K,
    ...args: TaskArgs<T[K]>
  ): Task<TaskArgs<T[K]>> {
    const fn = methodOf(instance, method);
    const decorated = methodConfig(instance, method, fn);
    const callSite = this.callSite === undefined ? decorated : (decorated?.merge(this.callSite) ?? this.callSite);
    return this.enqueue(bindMethod(instance, method, fn), args, callSite, 'call') as unknown as Task<TaskArgs<T[K]>>;
  }

  /**
   * Schedules `fn(...args)` in this mode. Immediate tasks start on a microtask, never inside
   * this call; afterRoute and afterResponse tasks wait for their request. To schedule a method,
   * prefer {@link TaskScheduler.call}: it keeps `this` on every provider scope.
   *
   * @throws {TasksError} if `fn` is not a function, or for a deferred mode outside a request
   * @example
   * ```ts
   * tasks.afterResponse.schedule(sendReceipt, orderId);
   * ```
   */
  schedule<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Task<A>;
  /**
   * Schedules an overloaded `fn(...args)`: the arguments are checked against each of its last
   * four overloads.
   */
  schedule<F extends (...args: never[]) => unknown>(fn: F, ...args: TaskArgs<F>): Task<TaskArgs<F>>;
  schedule(fn: (...args: never[]) => unknown, ...args: unknown[]): Task {
    return this.enqueue(fn, args, this.callSite, 'schedule');
  }

  /**
   * A scheduler in the same mode whose tasks get `options` on top of the global and
   * `@Task()` layers; chained calls merge, the later one winning field by field.
   *
   * @throws {TasksError} naming any option of the wrong type
   * @example
   * ```ts
   * tasks.afterRoute.task({ name: `finalize_${id}`, shield: true }).schedule(finalize, id);
   * ```
   */
  task(options: TaskOptions): TaskScheduler {
    const config = options instanceof TaskConfig ? options : new TaskConfig(options);
    const merged = this.callSite === undefined ? config : this.callSite.merge(config);
    return new TaskScheduler(this.runner, this.mode, merged);
  }

  /** The one way in for `call()` and `schedule()`: creates the task, admits it, then starts it or hands it to its request. */
  private enqueue(
    fn: (...args: never[]) => unknown,
    args: readonly unknown[],
    callSite: TaskConfig | undefined,
    via: Via,
  ): Task {
    const mode = this.mode;
    const task = this.runner.create(fn, args, callSite, mode);
    if (mode === 'immediate') {
      this.runner.admit(task, false);
      this.runner.start(task);
      return task;
    }
    const request = requestStorage.getStore();
    // Checked once the task exists, so that the message names it as it would have been named.
    if (request === undefined) this.runner.refuse(task, messages.outsideRequest(mode, task.name, via));
    if (request === CONTEXT_LOST) this.runner.refuse(task, messages.contextLost(mode, task.name, via));
    if (!request.tracked && task.config.always !== true) {
      this.runner.refuse(task, messages.untrackedRequest(mode, task.name, via));
    }
    this.runner.admit(task, true);
    request.add(mode, task);
    return task;
  }
}

type Method = (...args: unknown[]) => unknown;

/** `instance[key]`, which must be a function. */
function methodOf(instance: unknown, key: PropertyKey): Method {
  if (instance === null || (typeof instance !== 'object' && typeof instance !== 'function')) {
    throw new TasksError(messages.notAnInstance(instance, key));
  }
  const value: unknown = (instance as Record<PropertyKey, unknown>)[key];
  if (typeof value !== 'function') throw new TasksError(messages.notAMethod(instance, key, value));
  return value as Method;
}

/**
 * The `@Task()` config of the method `instance[key]`: that of the value itself (a method bound
 * at start-up carries it too), else that of the method the class defines under `key` — so an
 * instance that rebound the method itself, and a method a decorator above `@Task()` replaced,
 * keep the config.
 */
function methodConfig(instance: object, key: PropertyKey, value: Method): TaskConfig | undefined {
  return decoratedConfig(value) ?? classMethodConfig(instance, key);
}

/** The instance and method name a function made by `call()` calls. */
export interface CalledMethod {
  readonly instance: object;
  readonly key: PropertyKey;
}

/** Where a function made by `call()` keeps its {@link CalledMethod}: a key no other function has. */
const CALLED = Symbol('nestjs-tasks:called');

/**
 * The instance and method name `fn` calls, if `call()` made it; undefined for any other function,
 * whatever its name (a durable task's hand-off tells the method apart from a look-alike this way).
 */
export function calledMethod(fn: object): CalledMethod | undefined {
  return (fn as { [CALLED]?: CalledMethod })[CALLED];
}

/** `fn` called with `this = instance`, named after the method (what `task.name` falls back to). */
function bindMethod(instance: object, key: PropertyKey, fn: Method): Method {
  const bound: Method = (...args) => Reflect.apply(fn, instance, args);
  const name = typeof key === 'symbol' ? `[${key.description ?? ''}]` : String(key);
  Object.defineProperty(bound, 'name', { value: name });
  (bound as { [CALLED]?: CalledMethod })[CALLED] = { instance, key };
  return bound;
}
