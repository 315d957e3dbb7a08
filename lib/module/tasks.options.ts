import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency, Provider, Type } from '@nestjs/common';
import { TASK_FIELDS, TaskConfig, assertTaskOptions, type TaskOptions } from '../core/task-config.js';
import { DEFAULT_SHUTDOWN_TIMEOUT, TASKS_OPTIONS } from '../core/tasks.constants.js';
import { TasksError } from '../core/tasks.errors.js';
import { messages } from '../core/tasks.messages.js';
import type { LogFormat } from '../core/tasks.logger.js';

/**
 * What `TasksModule.forRoot()` takes: the global task defaults (the lowest config layer)
 * plus module settings. A {@link TaskConfig} instance is accepted too.
 *
 * @example
 * ```ts
 * TasksModule.forRoot({ onError: (task, error) => sentry.capture(error), shutdownTimeout: 10_000 })
 * ```
 */
export interface TasksModuleOptions extends TaskOptions {
  /**
   * How long shutdown waits for shielded tasks, in milliseconds; `Infinity` waits for ever.
   * At the deadline the signals of the tasks still running are aborted and their names logged.
   * A string holding such a number (`'10000'`, `'Infinity'`) is accepted too, since
   * environment variables are strings.
   * @default 30000
   * @example
   * ```ts
   * useFactory: (config: ConfigService) => ({ shutdownTimeout: config.get<string>('TASKS_SHUTDOWN_MS') })
   * ```
   */
  readonly shutdownTimeout?: number | string;
  /**
   * The most tasks running at once, all groups together: an integer >= 1, or `Infinity`. Tasks
   * over it wait in their group's queue; when a slot frees, the task that has waited longest
   * (among groups under their own `concurrency`) starts. A numeric string is accepted too.
   * @default Infinity
   */
  readonly maxConcurrency?: number | string;
  /**
   * How nestjs-tasks writes its log lines: `'text'`, a readable string, as Nest's `ConsoleLogger`
   * prints it; `'object'`, a record `{ msg, task, mode, attempt, group, outcome, err }` that a
   * structured logger (nestjs-pino, winston) keeps as fields — `String(record)` is still the
   * text; `'auto'`, text for Nest's `ConsoleLogger` and records for any other logger.
   * @default 'auto'
   */
  readonly logFormat?: LogFormat;
}

/** What a {@link TasksOptionsFactory} or a `useFactory` function returns. */
export type TasksModuleOptionsResult = TasksModuleOptions | TaskConfig | Promise<TasksModuleOptions | TaskConfig>;

/**
 * A provider that creates the module options, for `forRootAsync({ useClass })` and
 * `forRootAsync({ useExisting })`.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class TasksConfig implements TasksOptionsFactory {
 *   constructor(private readonly config: ConfigService) {}
 *   createTasksOptions(): TasksModuleOptions {
 *     return { shutdownTimeout: this.config.get<string>('TASKS_SHUTDOWN_MS') };
 *   }
 * }
 * ```
 */
export interface TasksOptionsFactory {
  /** Returns the options (or a promise of them). */
  createTasksOptions(): TasksModuleOptionsResult;
}

/**
 * `TasksModule.forRootAsync()` options: exactly one of `useFactory`, `useClass` and `useExisting`
 * says where the options come from.
 */
export interface TasksModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Providers whose instances are passed to `useFactory`, in order (only with `useFactory`). */
  readonly inject?: (InjectionToken | OptionalFactoryDependency)[];
  /** Returns the options (or a promise of them). */
  readonly useFactory?: (...args: never[]) => TasksModuleOptionsResult;
  /** A class the module instantiates (with its dependencies injected) to create the options. */
  readonly useClass?: Type<TasksOptionsFactory>;
  /** An existing provider (from `imports` or a global module) that creates the options. */
  readonly useExisting?: InjectionToken<TasksOptionsFactory>;
}

/** The options after validation and defaults: what the rest of the library reads. */
export interface ResolvedTasksOptions {
  /** The global config layer. */
  readonly config: TaskConfig;
  readonly shutdownTimeout: number;
  readonly maxConcurrency: number;
  readonly logFormat: LogFormat;
}

const MODULE_FIELDS = [...TASK_FIELDS, 'shutdownTimeout', 'maxConcurrency', 'logFormat'];
const LOG_FORMATS: readonly LogFormat[] = ['auto', 'text', 'object'];

/** Validates user options and fills defaults: the one place module options are merged. */
export function resolveTasksOptions(options: TasksModuleOptions | TaskConfig = {}): ResolvedTasksOptions {
  assertTaskOptions(options, 'TasksModule options', MODULE_FIELDS);
  const {
    shutdownTimeout = DEFAULT_SHUTDOWN_TIMEOUT,
    maxConcurrency = Infinity,
    logFormat = 'auto',
    ...taskOptions
  } = options as TasksModuleOptions;
  if (!LOG_FORMATS.includes(logFormat)) {
    throw new TasksError(messages.expected('`logFormat`', "'auto', 'text' or 'object' (or undefined)", logFormat));
  }
  return {
    config: new TaskConfig(taskOptions),
    shutdownTimeout: parseShutdownTimeout(shutdownTimeout),
    maxConcurrency: parseMaxConcurrency(maxConcurrency),
    logFormat,
  };
}

/** Digits with an optional decimal part, or `Infinity`: what a numeric environment value looks like. */
const NUMERIC_STRING = /^(\d+(\.\d+)?|Infinity)$/;

/** A number >= 0 (or Infinity), or a string holding one (surrounding whitespace ignored). */
function parseShutdownTimeout(value: unknown): number {
  const parsed = typeof value === 'string' && NUMERIC_STRING.test(value.trim()) ? Number(value) : value;
  if (typeof parsed !== 'number' || Number.isNaN(parsed) || parsed < 0) {
    throw new TasksError(messages.badShutdownTimeout(value));
  }
  return parsed;
}

/** An integer >= 1 or Infinity, or a string holding one. */
function parseMaxConcurrency(value: unknown): number {
  const parsed = typeof value === 'string' && NUMERIC_STRING.test(value.trim()) ? Number(value) : value;
  if (typeof parsed !== 'number' || !(parsed === Infinity || (Number.isInteger(parsed) && parsed >= 1))) {
    throw new TasksError(messages.badMaxConcurrency(value));
  }
  return parsed;
}

const ASYNC_SOURCES = ['useFactory', 'useClass', 'useExisting'] as const;

/**
 * The providers of the resolved options for `forRootAsync()`: from a factory function, a class
 * the module instantiates, or an existing provider. Refuses anything but exactly one source.
 */
export function asyncOptionsProviders(options: TasksModuleAsyncOptions): Provider[] {
  if (options === null || typeof options !== 'object') {
    throw new TasksError(messages.expected('TasksModule.forRootAsync() options', 'an object', options));
  }
  const given = ASYNC_SOURCES.filter((key) => options[key] !== undefined);
  const [source] = given;
  if (source === undefined || given.length > 1) throw new TasksError(messages.asyncOptionsSource(given));
  const { useFactory, useClass, useExisting, inject = [] } = options;
  if (useFactory !== undefined) {
    if (typeof useFactory !== 'function') {
      throw new TasksError(messages.expected('`useFactory`', 'a function returning the options', useFactory));
    }
    const fromFunction = async (...args: never[]) => resolveTasksOptions(await useFactory(...args));
    return [{ provide: TASKS_OPTIONS, inject, useFactory: fromFunction }];
  }
  if (options.inject !== undefined) throw new TasksError(messages.injectWithoutFactory(source));
  if (useClass !== undefined && typeof useClass !== 'function') {
    throw new TasksError(messages.expected('`useClass`', 'a class implementing TasksOptionsFactory', useClass));
  }
  const fromFactory: Provider = {
    provide: TASKS_OPTIONS,
    inject: [useClass ?? (useExisting as InjectionToken<TasksOptionsFactory>)],
    useFactory: async (factory: unknown) => resolveTasksOptions(await createOptions(factory)),
  };
  return useClass === undefined ? [fromFactory] : [{ provide: useClass, useClass }, fromFactory];
}

function createOptions(factory: unknown): TasksModuleOptionsResult {
  const candidate = factory as Partial<TasksOptionsFactory> | null | undefined;
  if (typeof candidate?.createTasksOptions !== 'function') throw new TasksError(messages.notAnOptionsFactory(factory));
  return candidate.createTasksOptions();
}
