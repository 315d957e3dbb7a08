export { TasksTelemetryModule } from './tasks-telemetry.module.js';
export type { TasksTelemetryOptions } from './telemetry.options.js';
export { TaskAttributes, TaskMetricNames, type TaskSpanOutcome } from './telemetry.names.js';
