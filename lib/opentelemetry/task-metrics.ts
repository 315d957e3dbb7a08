import {
  ValueType,
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  type Histogram,
  type Meter,
  type ObservableUpDownCounter,
} from '@opentelemetry/api';
import type { TasksStats } from '../control/task-groups.js';
import type { Task } from '../core/task.js';
import type { TaskObserver, TaskOutcome } from '../core/task-observer.js';
import { attemptOutcome } from './attempt-outcome.js';
import { TaskAttributes, TaskMetricNames } from './telemetry.names.js';

/** Bucket boundaries in seconds, from 5 ms (a quick write) to a minute (a slow export). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The task metrics: a duration histogram per attempt, counters of tasks by how they ended, and
 * the running and queued counts read from `stats()` when the SDK collects.
 */
export class TaskMetrics implements TaskObserver {
  private readonly duration: Histogram;
  private readonly started: Counter;
  private readonly ended: Record<Exclude<TaskOutcome, 'timedOut'>, Counter>;
  private readonly running: ObservableUpDownCounter;
  private readonly queued: ObservableUpDownCounter;
  /** When the running attempt of each task began, from `performance.now()`. */
  private readonly attemptStarts = new WeakMap<Task, number>();
  private readonly observe: BatchObservableCallback;

  constructor(
    private readonly meter: Meter,
    stats: () => TasksStats,
  ) {
    const counter = (name: string, description: string) =>
      meter.createCounter(name, { description, unit: '{task}', valueType: ValueType.INT });
    const gauge = (name: string, description: string) =>
      meter.createObservableUpDownCounter(name, { description, unit: '{task}', valueType: ValueType.INT });
    this.duration = meter.createHistogram(TaskMetricNames.duration, {
      description: 'How long each attempt of a task ran.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.started = counter(TaskMetricNames.started, 'Tasks that began their first attempt.');
    this.ended = {
      succeeded: counter(TaskMetricNames.succeeded, 'Tasks that succeeded.'),
      failed: counter(TaskMetricNames.failed, 'Tasks that failed after their last attempt.'),
      dropped: counter(TaskMetricNames.dropped, 'Tasks that never ran, or were not run again.'),
      aborted: counter(TaskMetricNames.aborted, 'Tasks stopped by the shutdown abort.'),
    };
    this.running = gauge(TaskMetricNames.running, 'Tasks running now.');
    this.queued = gauge(TaskMetricNames.queued, 'Tasks waiting for a concurrency slot now.');
    // One stats() call per collection feeds both.
    this.observe = (result) => {
      const now = stats();
      result.observe(this.running, now.running);
      result.observe(this.queued, now.queued);
    };
    meter.addBatchObservableCallback(this.observe, [this.running, this.queued]);
  }

  around(task: Task, run: () => unknown): unknown {
    if (task.attempt === 1) this.started.add(1, byTask(task));
    this.attemptStarts.set(task, performance.now());
    return run();
  }

  attemptEnded(task: Task, error: unknown, timedOut: boolean): void {
    const start = this.attemptStarts.get(task);
    if (start === undefined) return;
    this.attemptStarts.delete(task);
    const attributes = { ...byTask(task), [TaskAttributes.outcome]: attemptOutcome(task, error, timedOut) };
    this.duration.record((performance.now() - start) / 1000, attributes);
  }

  settled(task: Task, outcome: TaskOutcome): void {
    if (outcome === 'timedOut') {
      this.ended.failed.add(1, { ...byTask(task), [TaskAttributes.outcome]: 'timeout' });
    } else if (outcome === 'failed') {
      this.ended.failed.add(1, { ...byTask(task), [TaskAttributes.outcome]: 'error' });
    } else {
      this.ended[outcome].add(1, byTask(task));
    }
  }

  /** Stops reporting `stats()`: the app is closing, and the meter provider may outlive it. */
  dispose(): void {
    this.meter.removeBatchObservableCallback(this.observe, [this.running, this.queued]);
  }
}

function byTask(task: Task): Attributes {
  return { [TaskAttributes.name]: task.name, [TaskAttributes.mode]: task.mode };
}
