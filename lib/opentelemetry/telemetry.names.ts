/**
 * The names nestjs-tasks gives its spans' attributes and its metrics: use them in queries,
 * dashboards and OpenTelemetry views.
 */
export const TaskAttributes = {
  /** The task's name. */
  name: 'task.name',
  /** When it was scheduled to start: `immediate`, `afterRoute` or `afterResponse`. */
  mode: 'task.mode',
  /** Whether shutdown waits for it. */
  shield: 'task.shield',
  /** The attempt, from 1 (0 on a dropped task that never started). */
  attempt: 'task.attempt',
  /** The group whose concurrency and statistics it shares. */
  group: 'task.group',
  /** How the attempt (span) or the task (counters) ended: see {@link TaskSpanOutcome}. */
  outcome: 'task.outcome',
  /** Why a dropped task did not run (again): the debug line the library logs. */
  dropReason: 'task.drop_reason',
} as const;

/** How an attempt or a task ended, as the `task.outcome` attribute says it. */
export type TaskSpanOutcome = 'ok' | 'error' | 'timeout' | 'aborted' | 'dropped';

/** The metrics' names. */
export const TaskMetricNames = {
  /** Histogram, seconds: one value per attempt, by name, mode and outcome. */
  duration: 'tasks.duration',
  /** Counter: tasks that began their first attempt, by name and mode. */
  started: 'tasks.started',
  /** Counter: tasks that succeeded, by name and mode. */
  succeeded: 'tasks.succeeded',
  /** Counter: tasks that failed after their last attempt, by name, mode and outcome (`error` or `timeout`). */
  failed: 'tasks.failed',
  /** Counter: tasks that never ran or were not run again (failed request, shutdown), by name and mode. */
  dropped: 'tasks.dropped',
  /** Counter: tasks stopped by the shutdown abort, by name and mode. */
  aborted: 'tasks.aborted',
  /** Observable up-down counter: tasks running now, from `tasks.stats()`. */
  running: 'tasks.running',
  /** Observable up-down counter: tasks waiting for a concurrency slot now, from `tasks.stats()`. */
  queued: 'tasks.queued',
} as const;

/** The instrumentation scope of the tracer and the meter. */
export const INSTRUMENTATION_SCOPE = 'nestjs-tasks';
