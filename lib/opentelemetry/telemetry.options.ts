import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { TasksError } from '../core/tasks.errors.js';
import { telemetryMessages } from './telemetry.messages.js';

/**
 * What `TasksTelemetryModule.forRoot()` takes.
 *
 * @example
 * ```ts
 * TasksTelemetryModule.forRoot({ metrics: false })
 * ```
 */
export interface TasksTelemetryOptions {
  /**
   * Make a span per task attempt (and a zero-length span per dropped task).
   * @default true
   */
  readonly traces?: boolean;
  /**
   * Record the task metrics.
   * @default true
   */
  readonly metrics?: boolean;
  /**
   * Where spans go.
   * @default the global provider, `trace.getTracerProvider()`
   */
  readonly tracerProvider?: TracerProvider;
  /**
   * Where metrics go.
   * @default the global provider, `metrics.getMeterProvider()`
   */
  readonly meterProvider?: MeterProvider;
}

/** The options with their defaults: the providers are read when the module starts. */
export type ResolvedTelemetryOptions = Required<Pick<TasksTelemetryOptions, 'traces' | 'metrics'>> &
  Pick<TasksTelemetryOptions, 'tracerProvider' | 'meterProvider'>;

/** Merges the defaults in, once; a field of the wrong type throws at once. */
export function resolveTelemetryOptions(options: TasksTelemetryOptions = {}): ResolvedTelemetryOptions {
  if (typeof options !== 'object' || options === null) throw new TasksError(telemetryMessages.notAnObject(options));
  for (const key of ['traces', 'metrics'] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== 'boolean')
      throw new TasksError(telemetryMessages.notABoolean(key, value));
  }
  return {
    traces: options.traces ?? true,
    metrics: options.metrics ?? true,
    tracerProvider: options.tracerProvider,
    meterProvider: options.meterProvider,
  };
}
