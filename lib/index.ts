export { currentTask } from './current-task.js';
export { Task } from './task.js';
export { TaskConfig, type TaskErrorHandler, type TaskOptions } from './task-config.js';
export { TaskScheduler, type ConfiguredScheduler, type MethodName, type TaskArgs } from './task-scheduler.js';
export { TasksError } from './tasks.errors.js';
export { TasksModule } from './tasks.module.js';
export type {
  TasksModuleAsyncOptions,
  TasksModuleOptions,
  TasksModuleOptionsResult,
  TasksOptionsFactory,
} from './tasks.options.js';
export { TasksService } from './tasks.service.js';
