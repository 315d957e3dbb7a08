export { DurableTasksModule } from './durable-tasks.module.js';
export type { DurableTasksAsyncOptions, DurableTasksOptions, DurableWorkerOptions } from './durable.options.js';
export { currentDurableTask, type DurableTask } from './durable-job.js';
