import { Global, Module, Optional, type DynamicModule, type NestModule, type Provider } from '@nestjs/common';
import { DiscoveryModule, HttpAdapterHost, ModulesContainer, type AbstractHttpAdapter } from '@nestjs/core';
import { ContextTracker } from '../contexts/context-tracker.js';
import { RouteTracker } from '../contexts/route-tracker.js';
import type { TaskConfig } from '../core/task-config.js';
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
 * The modules `forRoot()` returned, by options (`onError` by identity): identical calls return
 * the same object, which Nest installs once whatever its module id algorithm (by default, Nest
 * 11 and 12 make one module per object). Different options are refused at start-up.
 */
const forRootCalls = new WeakMap<object, Map<string, DynamicModule>>();
const NO_HANDLER = {};

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
    const onError = resolved.config.onError;
    const key = optionsKey(resolved);
    let byKey = forRootCalls.get(onError ?? NO_HANDLER);
    if (byKey === undefined) forRootCalls.set(onError ?? NO_HANDLER, (byKey = new Map()));
    let module = byKey.get(key);
    if (module === undefined)
      byKey.set(key, (module = TasksModule.build([{ provide: TASKS_OPTIONS, useValue: resolved }])));
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
      exports: [TasksService],
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

/**
 * Every resolved option (numbers as text, so `Infinity` is not `null`; functions such as
 * `retryIf` by identity): two forRoot() calls share a module only if all their options agree.
 */
function optionsKey({ config, shutdownTimeout, maxConcurrency }: ResolvedTasksOptions): string {
  return JSON.stringify([{ ...config }, shutdownTimeout, maxConcurrency], (_key, value: unknown) => {
    if (typeof value === 'number') return String(value);
    return typeof value === 'function' ? functionId(value) : value;
  });
}

const functionIds = new WeakMap<object, string>();
let lastFunctionId = 0;

function functionId(fn: object): string {
  let id = functionIds.get(fn);
  if (id === undefined) functionIds.set(fn, (id = `function #${++lastFunctionId}`));
  return id;
}
