export { TasksTestingModule } from './tasks-testing.module.js';
export { TasksProbe } from './tasks.probe.js';
export { TaskRecord, type TaskRecordState, type TaskRequest } from './task-record.js';
export { TaskFailuresError } from './task-failures.error.js';
export type { TasksProbeOptions, TasksTestingMode, TasksTestingModuleOptions } from './tasks-testing.options.js';
