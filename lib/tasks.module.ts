import { Global, Module, Optional, type DynamicModule, type NestModule, type Provider } from '@nestjs/common';
import { DiscoveryModule, HttpAdapterHost, type AbstractHttpAdapter } from '@nestjs/core';
import { ContextTracker } from './context-tracker.js';
import { RouteTracker } from './route-tracker.js';
import type { TaskConfig } from './task-config.js';
import { TaskRunner } from './task-runner.js';
import { TASKS_OPTIONS } from './tasks.constants.js';
import { TasksError } from './tasks.errors.js';
import { TasksExplorer } from './tasks.explorer.js';
import { messages } from './tasks.messages.js';
import { TasksMiddleware } from './tasks.middleware.js';
import {
  asyncOptionsProviders,
  resolveTasksOptions,
  type TasksModuleAsyncOptions,
  type TasksModuleOptions,
} from './tasks.options.js';
import { TasksService } from './tasks.service.js';
import { TasksShutdown } from './tasks.shutdown.js';

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
    return TasksModule.build([{ provide: TASKS_OPTIONS, useValue: resolved }]);
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
  ) {
    if (middleware === undefined || routes === undefined) throw new TasksError(messages.bareModule());
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
