import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DURABLE_OPTIONS } from './durable.constants.js';
import {
  asyncDurableOptionsProvider,
  resolveDurableOptions,
  type DurableTasksAsyncOptions,
  type DurableTasksOptions,
} from './durable.options.js';
import { DurableHandOff } from './durable-hand-off.js';
import { DurableRegistry } from './durable-registry.js';
import { DurableWorker } from './durable-worker.js';

/**
 * Durable tasks on BullMQ: tasks with `durable: true` are handed to a Redis queue when they would
 * have started, and run on whichever process runs a worker — at least once, with retries, and
 * surviving a crash. Import it once, next to `TasksModule.forRoot()`.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     TasksModule.forRoot(),
 *     DurableTasksModule.forRoot({ connection: { host: '127.0.0.1', port: 6379 }, queue: 'tasks', worker: true }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
export class DurableTasksModule {
  /**
   * Installs durable tasks with the given Redis connection, queue and worker settings.
   * @throws {TasksError} at once, naming any option of the wrong type
   */
  static forRoot(options: DurableTasksOptions): DynamicModule {
    return DurableTasksModule.build([{ provide: DURABLE_OPTIONS, useValue: resolveDurableOptions(options) }]);
  }

  /**
   * Installs durable tasks with options made at start-up by a factory (fed from `ConfigService`,
   * say); they are validated when they arrive.
   *
   * @example
   * ```ts
   * DurableTasksModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ connection: { host: config.get('REDIS_HOST'), port: 6379 } }),
   * })
   * ```
   */
  static forRootAsync(options: DurableTasksAsyncOptions): DynamicModule {
    return {
      ...DurableTasksModule.build([asyncDurableOptionsProvider(options)]),
      imports: [DiscoveryModule, ...(options.imports ?? [])],
    };
  }

  private static build(optionsProviders: Provider[]): DynamicModule {
    return {
      module: DurableTasksModule,
      imports: [DiscoveryModule],
      providers: [...optionsProviders, DurableRegistry, DurableHandOff, DurableWorker],
    };
  }
}
