import {
  BadRequestException,
  Controller,
  Get,
  Injectable,
  Module,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common';
import { context, trace } from '@opentelemetry/api';
import { TasksService, currentTask } from '../../lib/index.js';
import { Probe, gate } from './probe.js';

/**
 * What HTTP instrumentation does: a span per request, active while Nest handles it, ended when
 * the response has been sent (before the afterResponse tasks run).
 */
@Injectable()
export class RequestSpanMiddleware implements NestMiddleware {
  use(
    request: { originalUrl?: string; url?: string },
    response: { once(event: 'close', listener: () => void): void },
    next: () => void,
  ) {
    const span = trace.getTracer('test-http').startSpan(`GET ${request.originalUrl ?? request.url}`);
    response.once('close', () => span.end());
    context.with(trace.setSpan(context.active(), span), next);
  }
}

@Module({ providers: [RequestSpanMiddleware] })
export class RequestSpanModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(RequestSpanMiddleware).forRoutes('{*path}');
  }
}

/** Holds the tasks of the `held` group until a test opens it. */
export const held = { gate: gate() };

/** Routes that schedule tasks each way a span can end. */
@Controller('otel')
export class TelemetryController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  /** One task per mode; each records the span active inside it. */
  @Get('modes')
  modes() {
    const record = () => this.probe.record(`${currentTask()?.name}:${trace.getActiveSpan()?.spanContext().spanId}`);
    this.tasks.task({ name: 'now', shield: true }).schedule(record);
    this.tasks.afterRoute.task({ name: 'route' }).schedule(record);
    this.tasks.afterResponse.task({ name: 'response', group: 'late' }).schedule(record);
    return { requestSpan: trace.getActiveSpan()?.spanContext().spanId };
  }

  @Get('fail')
  fail() {
    this.tasks.task({ name: 'boom' }).schedule(() => {
      throw new TypeError('boom');
    });
    return {};
  }

  /** Fails its first two attempts, succeeds on the third. */
  @Get('retry')
  retry() {
    this.tasks.task({ name: 'flaky', retry: { attempts: 3, delay: 1, backoff: 'fixed' } }).schedule(async () => {
      if (currentTask()!.attempt < 3) throw new Error(`attempt ${currentTask()!.attempt} failed`);
    });
    return {};
  }

  /** Runs until its 20 ms timeout aborts its signal. */
  @Get('timeout')
  timeout() {
    this.tasks.task({ name: 'slow', timeout: 20 }).schedule(async () => {
      const signal = currentTask()!.signal;
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    });
    return {};
  }

  /** A failed request: its afterResponse task is dropped. */
  @Get('failed-request')
  failedRequest() {
    this.tasks.afterResponse.task({ name: 'receipt' }).schedule(() => this.probe.record('receipt ran'));
    throw new BadRequestException('no');
  }

  /** Three tasks of one group with concurrency 1, held until `held.gate` opens. */
  @Get('held')
  hold() {
    for (let i = 0; i < 3; i++) {
      this.tasks.task({ name: 'held', concurrency: 1 }).schedule(() => held.gate.promise);
    }
    return {};
  }
}
