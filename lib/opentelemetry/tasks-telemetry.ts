import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import {
  createNoopMeter,
  metrics,
  ProxyTracerProvider,
  trace,
  type Meter,
  type MeterProvider,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { TaskRunner } from '../core/task-runner.js';
import { LOGGER_CONTEXT } from '../core/tasks.constants.js';
import { TaskMetrics } from './task-metrics.js';
import { TaskSpans } from './task-spans.js';
import { TELEMETRY_OPTIONS } from './telemetry.constants.js';
import { telemetryMessages } from './telemetry.messages.js';
import type { ResolvedTelemetryOptions } from './telemetry.options.js';
import { INSTRUMENTATION_SCOPE } from './telemetry.names.js';

/**
 * Plugs the spans and metrics into the task runner when the module starts, and takes them out
 * once the shutdown drain is over. A signal whose provider is the API's no-op (no SDK
 * registered) is not observed at all, so it costs nothing.
 */
@Injectable()
export class TasksTelemetry implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private removers: (() => void)[] = [];

  constructor(
    @Inject(TELEMETRY_OPTIONS) private readonly options: ResolvedTelemetryOptions,
    private readonly runner: TaskRunner,
  ) {}

  onModuleInit(): void {
    const tracer = this.options.traces ? recordingTracer(this.options.tracerProvider) : undefined;
    const meter = this.options.metrics ? recordingMeter(this.options.meterProvider) : undefined;
    const noSpans = this.options.traces && tracer === undefined;
    const noMetrics = this.options.metrics && meter === undefined;
    if (noSpans || noMetrics) this.logger.log(telemetryMessages.noProvider(noSpans, noMetrics));
    if (tracer !== undefined) this.removers.push(this.runner.observe(new TaskSpans(tracer)));
    if (meter !== undefined) {
      const taskMetrics = new TaskMetrics(meter, () => this.runner.stats());
      const remove = this.runner.observe(taskMetrics);
      this.removers.push(() => (remove(), taskMetrics.dispose()));
    }
  }

  /** After the last drain, so that the shielded tasks it awaited are traced to the end. */
  async onApplicationShutdown(): Promise<void> {
    await this.runner.drained();
    for (const remove of this.removers) remove();
    this.removers = [];
  }
}

/** The tracer, unless the provider is the global API's no-op (no SDK registered). */
function recordingTracer(given: TracerProvider | undefined): Tracer | undefined {
  const provider = given ?? trace.getTracerProvider();
  // The global provider is a proxy; until an SDK registers, it delegates to the no-op provider
  // that any fresh proxy delegates to.
  if (provider instanceof ProxyTracerProvider && provider.getDelegate() === new ProxyTracerProvider().getDelegate()) {
    return undefined;
  }
  return provider.getTracer(INSTRUMENTATION_SCOPE);
}

/** The meter, unless the provider is the API's no-op (no SDK registered). */
function recordingMeter(given: MeterProvider | undefined): Meter | undefined {
  const meter = (given ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE);
  return meter === createNoopMeter() ? undefined : meter;
}
