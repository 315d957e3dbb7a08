import { Global, Module, Optional, type DynamicModule, type NestModule, type Provider } from '@nestjs/common';
import { DiscoveryModule, HttpAdapterHost, ModulesContainer, type AbstractHttpAdapter } from '@nestjs/core';
import { ContextTracker } from '../contexts/context-tracker.js';
import { RouteTracker } from '../contexts/route-tracker.js';
import { TASK_FIELDS, type TaskConfig } from '../core/task-config.js';
import { TaskRunner } from '../core/task-runner.js';
import { TASKS_OPTIONS } from '../core/tasks.constants.js';
import { TasksError } from '../core/tasks.errors.js';
import { TasksExplorer } from './tasks.explorer.js';
import { messages } from '../core/tasks.messages.js';
import { TasksMiddleware } from '../contexts/tasks.middleware.js';
import {
  asyncOptionsProviders,
  resolveTasksOptions,
  type ResolvedTasksOptions,
  type TasksModuleAsyncOptions,
  type TasksModuleOptions,
} from './tasks.options.js';
import { TasksService } from './tasks.service.js';
import { TasksShutdown } from './tasks.shutdown.js';

/**
 * The modules `forRoot()` returned, by options (functions by identity): identical calls return
 * the same object, which Nest installs once whatever its module id algorithm (by default, Nest
 * 11 and 12 make one module per object). Different options are refused at start-up.
 */
const forRootCalls = new Map<string, DynamicModule>();
/** A number per function given in the options, so that equal options give one key. */
const functionIds = new WeakMap<object, number>();
let lastFunctionId = 0;

function idOf(fn: unknown): number | undefined {
  if (typeof fn !== 'function') return undefined;
  let id = functionIds.get(fn);
  if (id === undefined) functionIds.set(fn, (id = ++lastFunctionId));
  return id;
}

/** The options as a string: equal for equal values and the same functions. */
function keyOf(resolved: ResolvedTasksOptions): string {
  const config = resolved.config;
  const fields = TASK_FIELDS.map((field) => keyPart(config[field]));
  const settings = [resolved.shutdownTimeout, resolved.maxConcurrency, resolved.logFormat].map(keyPart);
  return JSON.stringify([fields, settings]);
}

/**
 * One option's value in the key: a function by its identity, an object (`retry`'s options) by
 * its entries in key order, anything else as a string (so that `Infinity` differs from `null`).
 */
function keyPart(value: unknown): unknown {
  if (typeof value === 'function') return `function#${idOf(value)}`;
  if (value === null || typeof value !== 'object') return `${typeof value}:${String(value)}`;
  return Object.keys(value)
    .sort()
    .map((key) => [key, keyPart((value as Record<string, unknown>)[key])]);
}

const PROVIDERS: Provider[] = [
  TaskRunner,
  TasksMiddleware,
  TasksService,
  TasksExplorer,
  TasksShutdown,
  RouteTracker,
  ContextTracker,
];

/**
 * Installs nestjs-tasks: a global module, imported once in the root module.
 *
 * @example
 * ```ts
 * @Module({ imports: [TasksModule.forRoot({ shutdownTimeout: 10_000 })] })
 * export class AppModule {}
 * ```
 */
@Global()
@Module({})
export class TasksModule implements NestModule {
  /**
   * Installs the module with global task defaults and module settings.
   * @throws {TasksError} at once, naming any option of the wrong type
   */
  static forRoot(options: TasksModuleOptions | TaskConfig = {}): DynamicModule {
    const resolved = resolveTasksOptions(options);
    const key = keyOf(resolved);
    let module = forRootCalls.get(key);
    if (module === undefined)
      forRootCalls.set(key, (module = TasksModule.build([{ provide: TASKS_OPTIONS, useValue: resolved }])));
    return module;
  }

  /**
   * Installs the module with options created at start-up: by a factory function (`useFactory`
   * with `inject`), by a class the module instantiates (`useClass`), or by an existing provider
   * (`useExisting`); each may be async. The options are validated when they arrive.
   *
   * @throws {TasksError} at once unless exactly one of `useFactory`, `useClass` and
   *   `useExisting` is given
   * @example
   * ```ts
   * TasksModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ shutdownTimeout: config.get<string>('TASKS_SHUTDOWN_MS') }),
   * })
   * TasksModule.forRootAsync({ imports: [ConfigModule], useClass: TasksConfig })
   * ```
   */
  static forRootAsync(options: TasksModuleAsyncOptions): DynamicModule {
    const providers = asyncOptionsProviders(options);
    return { ...TasksModule.build(providers), imports: [DiscoveryModule, ...(options.imports ?? [])] };
  }

  private static build(optionsProviders: Provider[]): DynamicModule {
    return {
      module: TasksModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [...optionsProviders, ...PROVIDERS],
      // TaskRunner and the options too, for the integrations (nestjs-tasks/testing, /bullmq): not public API.
      exports: [TasksService, TaskRunner, TASKS_OPTIONS],
    };
  }

  // Optional only so that importing the bare class (no forRoot) fails with a TasksError naming
  // the fix instead of Nest's "can't resolve dependencies of the TasksModule".
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Optional() private readonly middleware: TasksMiddleware,
    @Optional() private readonly routes: RouteTracker,
    modules: ModulesContainer,
  ) {
    if (middleware === undefined || routes === undefined) throw new TasksError(messages.bareModule());
    assertImportedOnce(modules);
  }

  /** Runs before Nest registers its routes, so the store opens ahead of every route. */
  configure(): void {
    this.routes.trackAll();
    const adapter = this.adapterHost.httpAdapter as AbstractHttpAdapter | null | undefined;
    if (adapter != null && !this.middleware.mountOn(adapter)) {
      throw new TasksError(messages.unknownAdapter(adapter.getType()));
    }
  }
}

/**
 * Nest makes one module of identical `forRoot()` imports; imports with different options become
 * separate modules, each with its own request hook and runner. Refused at start-up, naming the
 * modules that import it. Runs once every module is scanned (module instances are created after).
 */
function assertImportedOnce(modules: ModulesContainer): void {
  const count = [...modules.values()].filter((module) => module.metatype === TasksModule).length;
  if (count < 2) return;
  // A global module is linked into every module's `imports`: the importers are read from the
  // `@Module()` metadata instead (a dynamic module importing it is not named).
  const importers = [...modules.values()]
    .filter((module) => importsTasksModule(Reflect.getMetadata('imports', module.metatype)))
    .map((module) => module.metatype.name);
  throw new TasksError(messages.doubleImport(count, importers));
}

function importsTasksModule(imports: unknown): boolean {
  return (
    Array.isArray(imports) && imports.some((item) => (item as Partial<DynamicModule> | null)?.module === TasksModule)
  );
}
