/**
 * Every log line and error text of nestjs-tasks/opentelemetry. Tests assert with these same
 * functions.
 */
import { messages } from '../core/tasks.messages.js';

export const telemetryMessages = {
  notAnObject: (value: unknown) => messages.expected('the TasksTelemetryModule options', 'an object', value),
  notABoolean: (key: string, value: unknown) => messages.expected(`\`${key}\``, 'a boolean (or undefined)', value),
  /** Some signal was asked for and its provider is the API's no-op. */
  noProvider: (spans: boolean, metrics: boolean) => {
    const missing = [
      spans && 'no tracer provider is registered, so tasks get no spans',
      metrics && 'no meter provider is registered, so tasks get no metrics',
    ];
    return `OpenTelemetry: ${missing.filter(Boolean).join('; ')}. Start the OpenTelemetry SDK before creating the Nest application: a provider registered later is not seen.`;
  },
};
