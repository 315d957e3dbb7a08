import type { Task } from '../core/task.js';
import type { TaskOutcome } from '../core/task-observer.js';
import { errorName } from '../core/tasks.messages.js';
import type { TaskSpanOutcome } from './telemetry.names.js';

/**
 * How one attempt ended, from the `attemptEnded` hook. An error that is the library's own abort
 * (the signal's reason, or an `AbortError` once the signal is aborted) is `aborted`, as the
 * runner itself decides it.
 */
export function attemptOutcome(task: Task, error: unknown, timedOut: boolean): TaskSpanOutcome {
  if (timedOut) return 'timeout';
  if (error === undefined) return 'ok';
  const signal = task.signal;
  if (signal.aborted && (error === signal.reason || errorName(error) === 'AbortError')) {
    return 'aborted';
  }
  return 'error';
}

/** The `task.outcome` of a settled task. */
export const settledOutcome: Record<TaskOutcome, TaskSpanOutcome> = {
  succeeded: 'ok',
  failed: 'error',
  timedOut: 'timeout',
  dropped: 'dropped',
  aborted: 'aborted',
};
