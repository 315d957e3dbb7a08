import { Global, Module, type DynamicModule } from '@nestjs/common';
import { TasksError } from '../core/tasks.errors.js';
import { TasksModule } from '../module/tasks.module.js';
import { TasksProbe } from './tasks.probe.js';
import { PROBE_OPTIONS, type TasksProbeOptions, type TasksTestingModuleOptions } from './tasks-testing.options.js';
import { testingMessages } from './testing.messages.js';

/**
 * nestjs-tasks for `Test.createTestingModule()`: provides a {@link TasksProbe} (global).
 *
 * @example
 * ```ts
 * // The app's own TasksModule, observed:
 * Test.createTestingModule({ imports: [AppModule, TasksTestingModule.register({ mode: 'capture' })] });
 * // In place of TasksModule.forRoot():
 * Test.createTestingModule({ imports: [TasksTestingModule.forRoot({ mode: 'run' }), OrdersModule] });
 * ```
 */
@Global()
@Module({})
export class TasksTestingModule {
  /**
   * `TasksModule.forRoot(options)` with the probe in it: import it instead of
   * `TasksModule.forRoot()`, or put it in its place with `.overrideModule(tasksModule).useModule(...)`.
   */
  static forRoot(options: TasksTestingModuleOptions = {}): DynamicModule {
    const { mode, ...tasksOptions } = options;
    const tasks = TasksModule.forRoot(tasksOptions);
    const probe = TasksTestingModule.register({ mode });
    // TasksModule itself with the probe added: a new object whose content differs too, so that
    // Nest (by reference on 11+, by a hash of the metadata on 10) never takes it for the
    // forRoot() module it overrides.
    return {
      module: tasks.module,
      global: true,
      imports: tasks.imports,
      providers: [...(tasks.providers ?? []), ...(probe.providers ?? [])],
      exports: [...(tasks.exports ?? []), ...(probe.exports ?? [])],
    };
  }

  /** The probe alone, observing the TasksModule the app already imports (your AppModule's). */
  static register(options: TasksProbeOptions = {}): DynamicModule {
    if (options.mode !== undefined && options.mode !== 'run' && options.mode !== 'capture') {
      throw new TasksError(testingMessages.badMode(options.mode));
    }
    return {
      module: TasksTestingModule,
      global: true,
      providers: [{ provide: PROBE_OPTIONS, useValue: options }, TasksProbe],
      exports: [TasksProbe],
    };
  }
}
