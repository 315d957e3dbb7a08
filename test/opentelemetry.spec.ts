import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, metrics, SpanKind, SpanStatusCode, trace, type HrTime } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { execFile } from 'node:child_process';
import { TasksError, TasksModule, TasksService, TaskTimeoutError, currentTask } from '../lib/index.js';
import { TaskRunner } from '../lib/core/task-runner.js';
import { messages } from '../lib/core/tasks.messages.js';
import { TaskAttributes, TaskMetricNames, TasksTelemetryModule } from '../lib/opentelemetry/index.js';
import { telemetryMessages } from '../lib/opentelemetry/telemetry.messages.js';
import { RecordingLogger, adapters, startApp, type TestApp } from './app/harness.js';
import { Probe, gate } from './app/probe.js';
import { RequestSpanModule, TelemetryController, held } from './app/telemetry.controller.js';

const spanExporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
const contextManager = new AsyncLocalStorageContextManager();

/** A meter provider whose metrics a test reads on demand (the periodic export never fires). */
function metricsSdk() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  /** Collects now and returns the metric of that name from the last export. */
  const read = async (name: string): Promise<MetricData | undefined> => {
    await reader.forceFlush();
    const last = exporter.getMetrics().at(-1);
    return last?.scopeMetrics.flatMap((scope) => scope.metrics).find((metric) => metric.descriptor.name === name);
  };
  return { provider, read };
}

/** The value of a counter or gauge per data point, keyed by the attributes given. */
function valuesBy(metric: MetricData | undefined, ...keys: string[]): Record<string, number> {
  const values: Record<string, number> = {};
  for (const point of metric?.dataPoints ?? []) {
    values[keys.map((key) => String(point.attributes[key])).join(' ')] = point.value as number;
  }
  return values;
}

const ms = (time: HrTime) => time[0] * 1e3 + time[1] / 1e6;
const taskSpans = (name: string) => spanExporter.getFinishedSpans().filter((span) => span.name === `task ${name}`);
const only = (name: string): ReadableSpan => {
  const found = taskSpans(name);
  expect(found).toHaveLength(1);
  return found[0]!;
};

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(tracerProvider);
});
afterAll(async () => {
  trace.disable();
  context.disable();
  metrics.disable();
  await tracerProvider.shutdown();
});

let sdk: ReturnType<typeof metricsSdk>;
beforeEach(() => {
  spanExporter.reset();
  sdk = metricsSdk();
  metrics.setGlobalMeterProvider(sdk.provider);
});
afterEach(async () => {
  metrics.disable();
  await sdk.provider.shutdown();
});

describe.each(adapters)('OpenTelemetry over HTTP on %s', (adapter) => {
  let t: TestApp;
  const start = async () => {
    t = await startApp(adapter, {
      imports: [TasksTelemetryModule.forRoot(), RequestSpanModule],
      controllers: [TelemetryController],
      providers: [Probe],
      tasks: { onError: () => undefined },
    });
  };
  afterEach(() => t.app.close());
  const requestSpan = (path: string) => {
    const found = spanExporter.getFinishedSpans().filter((span) => span.name === `GET ${path}`);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  it('makes a span per task under the request span, in all three modes, active while the task runs', async () => {
    await start();
    const response = await t.http.get('/otel/modes').expect(200);
    await t.tasks.onIdle();
    const request = requestSpan('/otel/modes');
    expect(request.spanContext().spanId).toBe((response.body as { requestSpan: string }).requestSpan);
    const expected = {
      now: { mode: 'immediate', shield: true, group: 'now' },
      route: { mode: 'afterRoute', shield: false, group: 'route' },
      response: { mode: 'afterResponse', shield: false, group: 'late' },
    };
    for (const [name, { mode, shield, group }] of Object.entries(expected)) {
      const span = only(name);
      expect(span.kind).toBe(SpanKind.INTERNAL);
      expect(span.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(span.spanContext().traceId).toBe(request.spanContext().traceId);
      expect(span.attributes).toEqual({
        [TaskAttributes.name]: name,
        [TaskAttributes.mode]: mode,
        [TaskAttributes.shield]: shield,
        [TaskAttributes.attempt]: 1,
        [TaskAttributes.group]: group,
        [TaskAttributes.outcome]: 'ok',
      });
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      expect(t.get(Probe).events).toContain(`${name}:${span.spanContext().spanId}`);
    }
    // The afterResponse task ran once the request span had ended, and is still its child. (The SDK
    // takes a span's start from Date.now(), its end from that plus a performance.now() duration:
    // hence the millisecond of slack.)
    expect(ms(only('response').startTime)).toBeGreaterThanOrEqual(Math.floor(ms(request.endTime)));
  });

  it('records the exception and sets status ERROR when a task throws', async () => {
    await start();
    await t.http.get('/otel/fail').expect(200);
    await t.tasks.onIdle();
    const span = only('boom');
    expect(span.parentSpanContext?.spanId).toBe(requestSpan('/otel/fail').spanContext().spanId);
    expect(span.attributes[TaskAttributes.outcome]).toBe('error');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
    expect(
      span.events.map((event) => [
        event.name,
        event.attributes?.['exception.type'],
        event.attributes?.['exception.message'],
      ]),
    ).toEqual([['exception', 'TypeError', 'boom']]);
  });

  it('makes one span per attempt when a task is retried, each under the request span', async () => {
    await start();
    await t.http.get('/otel/retry').expect(200);
    await t.tasks.onIdle();
    const attempts = taskSpans('flaky').sort((a, b) => ms(a.startTime) - ms(b.startTime));
    expect(
      attempts.map((span) => [
        span.attributes[TaskAttributes.attempt],
        span.attributes[TaskAttributes.outcome],
        span.status.code,
      ]),
    ).toEqual([
      [1, 'error', SpanStatusCode.ERROR],
      [2, 'error', SpanStatusCode.ERROR],
      [3, 'ok', SpanStatusCode.UNSET],
    ]);
    const parent = requestSpan('/otel/retry').spanContext().spanId;
    expect(attempts.every((span) => span.parentSpanContext?.spanId === parent)).toBe(true);
    expect(ms(attempts[1]!.startTime)).toBeGreaterThanOrEqual(Math.floor(ms(attempts[0]!.endTime)));
  });

  it('ends the span with outcome timeout when the attempt outlives its timeout', async () => {
    await start();
    await t.http.get('/otel/timeout').expect(200);
    await t.tasks.onIdle();
    const span = only('slow');
    expect(span.attributes[TaskAttributes.outcome]).toBe('timeout');
    expect(span.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: messages.timedOut('slow', 20, 1),
    });
    expect(span.events[0]?.attributes?.['exception.type']).toBe(TaskTimeoutError.name);
    expect(ms(span.endTime) - ms(span.startTime)).toBeGreaterThanOrEqual(19);
  });

  it('shows a task a failed request dropped as a zero-length span with the reason', async () => {
    await start();
    await t.http.get('/otel/failed-request').expect(400);
    await t.tasks.onIdle();
    const span = only('receipt');
    expect(span.parentSpanContext?.spanId).toBe(requestSpan('/otel/failed-request').spanContext().spanId);
    expect(span.attributes).toMatchObject({
      [TaskAttributes.mode]: 'afterResponse',
      [TaskAttributes.attempt]: 0,
      [TaskAttributes.outcome]: 'dropped',
      [TaskAttributes.dropReason]: messages.droppedFailedRequest('receipt', 'afterResponse'),
    });
    expect(span.endTime).toEqual(span.startTime);
    expect(t.get(Probe).events).not.toContain('receipt ran');
  });

  it('counts tasks by name, mode and outcome, and times each attempt', async () => {
    await start();
    for (const path of ['modes', 'fail', 'retry', 'timeout']) await t.http.get(`/otel/${path}`).expect(200);
    await t.http.get('/otel/failed-request').expect(400);
    await t.tasks.onIdle();
    expect(valuesBy(await sdk.read(TaskMetricNames.started), TaskAttributes.name, TaskAttributes.mode)).toEqual({
      'now immediate': 1,
      'route afterRoute': 1,
      'response afterResponse': 1,
      'boom immediate': 1,
      'flaky immediate': 1,
      'slow immediate': 1,
    });
    expect(valuesBy(await sdk.read(TaskMetricNames.succeeded), TaskAttributes.name)).toEqual({
      now: 1,
      route: 1,
      response: 1,
      flaky: 1,
    });
    expect(valuesBy(await sdk.read(TaskMetricNames.failed), TaskAttributes.name, TaskAttributes.outcome)).toEqual({
      'boom error': 1,
      'slow timeout': 1,
    });
    expect(valuesBy(await sdk.read(TaskMetricNames.dropped), TaskAttributes.name, TaskAttributes.mode)).toEqual({
      'receipt afterResponse': 1,
    });
    const duration = await sdk.read(TaskMetricNames.duration);
    expect(duration?.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(duration?.descriptor.unit).toBe('s');
    const attempts: Record<string, { count: number; min?: number }> = {};
    for (const point of duration?.dataPoints ?? []) {
      const { count, min } = point.value as { count: number; min?: number };
      attempts[`${point.attributes[TaskAttributes.name]} ${point.attributes[TaskAttributes.outcome]}`] = { count, min };
    }
    expect(Object.fromEntries(Object.entries(attempts).map(([key, value]) => [key, value.count]))).toEqual({
      'now ok': 1,
      'route ok': 1,
      'response ok': 1,
      'boom error': 1,
      'flaky error': 2,
      'flaky ok': 1,
      'slow timeout': 1,
    });
    expect(attempts['slow timeout']!.min).toBeGreaterThanOrEqual(0.019);
  });

  it('reports the running and queued counts of stats() when the SDK collects', async () => {
    await start();
    held.gate = gate();
    await t.http.get('/otel/held').expect(200);
    expect(t.tasks.stats()).toMatchObject({ running: 1, queued: 2 });
    expect(valuesBy(await sdk.read(TaskMetricNames.running))).toEqual({ '': 1 });
    expect(valuesBy(await sdk.read(TaskMetricNames.queued))).toEqual({ '': 2 });
    held.gate.open();
    await t.tasks.onIdle();
    expect(valuesBy(await sdk.read(TaskMetricNames.running))).toEqual({ '': 0 });
    expect(valuesBy(await sdk.read(TaskMetricNames.queued))).toEqual({ '': 0 });
  });
});

describe('OpenTelemetry module without HTTP', () => {
  let app: INestApplicationContext | undefined;
  let logger: RecordingLogger;
  const start = async (imports: unknown[]) => {
    @Module({ imports: [TasksModule.forRoot(), ...(imports as [])] })
    class TelemetryAppModule {}
    logger = new RecordingLogger();
    app = await NestFactory.createApplicationContext(TelemetryAppModule, { logger });
    return app;
  };
  const observersOf = (runner: TaskRunner) => (runner as unknown as { observers?: unknown[] }).observers;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('registers nothing, so costs nothing, when no SDK is registered, and says how to fix it', async () => {
    trace.disable();
    metrics.disable();
    try {
      const started = await start([TasksTelemetryModule.forRoot()]);
      expect(observersOf(started.get(TaskRunner))).toBeUndefined();
      expect(logger.tasks('log').map((line) => line.message)).toContain(telemetryMessages.noProvider(true, true));
      started.get(TasksService).schedule(() => undefined);
      await started.get(TasksService).onIdle();
      expect(spanExporter.getFinishedSpans()).toEqual([]);
    } finally {
      trace.setGlobalTracerProvider(tracerProvider);
    }
  });

  it('observes the runner while an SDK is registered, and stops at shutdown', async () => {
    const started = await start([TasksTelemetryModule.forRoot()]);
    const runner = started.get(TaskRunner);
    expect(observersOf(runner)).toHaveLength(2);
    await started.close();
    app = undefined;
    expect(observersOf(runner)).toBeUndefined();
    // The meter provider outlives the app: it no longer asks the closed app for its stats.
    expect((await sdk.read(TaskMetricNames.running))?.dataPoints ?? []).toEqual([]);
  });

  it('uses the providers it is given instead of the global ones, and only the signals asked for', async () => {
    trace.disable();
    metrics.disable();
    const ownSpans = new InMemorySpanExporter();
    const own = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(ownSpans)] });
    try {
      const started = await start([TasksTelemetryModule.forRoot({ tracerProvider: own, metrics: false })]);
      expect(observersOf(started.get(TaskRunner))).toHaveLength(1);
      expect(logger.tasks('log')).toEqual([]);
      started
        .get(TasksService)
        .task({ name: 'own' })
        .schedule(() => undefined);
      await started.get(TasksService).onIdle();
      expect(ownSpans.getFinishedSpans().map((span) => span.name)).toEqual(['task own']);
    } finally {
      trace.setGlobalTracerProvider(tracerProvider);
      await own.shutdown();
    }
  });

  it('marks a task stopped by the shutdown abort as aborted, without an exception event', async () => {
    const started = await start([TasksTelemetryModule.forRoot()]);
    const running = gate();
    started
      .get(TasksService)
      .task({ name: 'stopped' })
      .schedule(async () => {
        const signal = currentTask()!.signal;
        running.open();
        await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
      });
    await running.promise;
    await started.close();
    app = undefined;
    const span = only('stopped');
    expect(span.attributes[TaskAttributes.outcome]).toBe('aborted');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: messages.abortedShutdown('stopped') });
    expect(span.events).toEqual([]);
  });

  it('refuses an option of the wrong type at once', () => {
    expect(() => TasksTelemetryModule.forRoot({ traces: 'yes' as unknown as boolean })).toThrow(
      new TasksError(telemetryMessages.notABoolean('traces', 'yes')),
    );
  });
});

/** Runs `node` on a script with a resolve hook that fails any import of an @opentelemetry package. */
function importWithoutOpenTelemetry(file: string): Promise<{ code: number | null; stderr: string }> {
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier.startsWith('@opentelemetry/')) throw new Error('loaded ' + specifier);
    return next(specifier, context);
  }`;
  const register = `import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
  const url = new URL(file, import.meta.url).href;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        '--import',
        `data:text/javascript,${encodeURIComponent(register)}`,
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(url)});`,
      ],
      (error, _stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number), stderr }),
    );
  });
}

describe('the entry points (built by pretest into dist-test/)', () => {
  it("never loads @opentelemetry/api from 'nestjs-tasks'", async () => {
    expect(await importWithoutOpenTelemetry('../dist-test/lib/index.js')).toEqual({ code: 0, stderr: '' });
  });

  it("loads it from 'nestjs-tasks/opentelemetry' (the check above can fail)", async () => {
    const result = await importWithoutOpenTelemetry('../dist-test/lib/opentelemetry/index.js');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('loaded @opentelemetry/api');
  });
});
