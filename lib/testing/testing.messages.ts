/**
 * Every error text of nestjs-tasks/testing. Tests assert with these same functions, so a wording
 * change is made here once.
 */
import { describeError, messages } from '../core/tasks.messages.js';
import type { TaskRecord } from './task-record.js';

/** How one failed task reads in a drain() failure: name, mode, outcome and its last error. */
function describeFailure(record: TaskRecord): string {
  const how = record.state === 'timedOut' ? 'timed out' : 'failed';
  return `"${record.name}" (${record.mode}) ${how}: ${describeError(record.error)}`;
}

export const testingMessages = {
  badMode: (value: unknown) => messages.expected('`mode`', "'run' or 'capture'", value),
  failures: (records: readonly TaskRecord[]) =>
    `${records.length} background task(s) failed: ${records.map(describeFailure).join('; ')}`,
  notCaptured: (name: string, state: string) =>
    `Task "${name}" cannot be run by the probe: its state is '${state}', not 'captured'. run() takes tasks held in 'capture' mode (from probe.scheduled or probe.find()); tasks in 'run' mode run by themselves.`,
  noTasksModule: () =>
    'TasksTestingModule.register() found no TasksModule to observe. Import it next to a module that imports `TasksModule.forRoot()` (your AppModule), or use `TasksTestingModule.forRoot({ mode, ...options })`, which installs TasksModule itself.',
} as const;
