import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency } from '@nestjs/common';
import { TASK_FIELDS, TaskConfig, assertTaskOptions, type TaskOptions } from './task-config.js';
import { DEFAULT_SHUTDOWN_TIMEOUT } from './tasks.constants.js';
import { TasksError } from './tasks.errors.js';
import { messages } from './tasks.messages.js';

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
}

/** `TasksModule.forRootAsync()` options: the options come from a factory with injected dependencies. */
export interface TasksModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Providers whose instances are passed to `useFactory`, in order. */
  readonly inject?: (InjectionToken | OptionalFactoryDependency)[];
  /** Returns the options (or a promise of them). */
  readonly useFactory: (...args: never[]) => TasksModuleOptions | TaskConfig | Promise<TasksModuleOptions | TaskConfig>;
}

/** The options after validation and defaults: what the rest of the library reads. */
export interface ResolvedTasksOptions {
  /** The global config layer. */
  readonly config: TaskConfig;
  readonly shutdownTimeout: number;
}

const MODULE_FIELDS = [...TASK_FIELDS, 'shutdownTimeout'];

/** Validates user options and fills defaults: the one place module options are merged. */
export function resolveTasksOptions(options: TasksModuleOptions | TaskConfig = {}): ResolvedTasksOptions {
  assertTaskOptions(options, 'TasksModule options', MODULE_FIELDS);
  const { shutdownTimeout = DEFAULT_SHUTDOWN_TIMEOUT, ...taskOptions } = options as TasksModuleOptions;
  return { config: new TaskConfig(taskOptions), shutdownTimeout: parseShutdownTimeout(shutdownTimeout) };
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
