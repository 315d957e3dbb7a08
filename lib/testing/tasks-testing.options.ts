import type { TasksModuleOptions } from '../module/tasks.options.js';

/**
 * What the probe does with tasks as they start: `'run'` lets them run as in production; `'capture'`
 * holds each one instead (it is recorded, in state `'captured'`, and runs only when the test calls
 * `probe.run()` or `probe.runAll()`).
 */
export type TasksTestingMode = 'run' | 'capture';

/** `TasksTestingModule.register()` options. */
export interface TasksProbeOptions {
  /**
   * Whether tasks run or are captured. `probe.mode` changes it later, for the tasks that start
   * from then on.
   * @default 'run'
   */
  readonly mode?: TasksTestingMode;
}

/** `TasksTestingModule.forRoot()` options: the probe's, plus those of `TasksModule.forRoot()`. */
export interface TasksTestingModuleOptions extends TasksProbeOptions, TasksModuleOptions {}

/** Injection token of the probe options (internal). */
export const PROBE_OPTIONS = Symbol('nestjs-tasks:probe-options');
