export { currentTask } from './core/current-task.js';
export { Task } from './core/task.js';
export { TaskConfig, type TaskErrorHandler, type TaskOptions } from './core/task-config.js';
export type { RetryOptions, RetrySetting } from './control/retry-policy.js';
export type { TaskCounts, TasksStats } from './control/task-groups.js';
export type { TaskMode } from './core/tasks.messages.js';
export type { TaskOutcome } from './core/task-observer.js';
export { TaskScheduler, type ConfiguredScheduler, type MethodName, type TaskArgs } from './module/task-scheduler.js';
export { TaskQueueFullError, TaskTimeoutError, TasksError } from './core/tasks.errors.js';
export { TaskLogRecord, type LogFormat } from './core/tasks.logger.js';
export { TasksModule } from './module/tasks.module.js';
export type {
  TasksModuleAsyncOptions,
  TasksModuleOptions,
  TasksModuleOptionsResult,
  TasksOptionsFactory,
} from './module/tasks.options.js';
export { TasksService } from './module/tasks.service.js';
