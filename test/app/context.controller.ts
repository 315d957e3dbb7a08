import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ArgumentsHost,
  Catch,
  Controller,
  Get,
  Injectable,
  Body,
  Post,
  Module,
  type MiddlewareConsumer,
  type NestModule,
  Param,
  Res,
  UseFilters,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type NestInterceptor,
  type NestMiddleware,
  type OnModuleInit,
  type PipeTransform,
} from '@nestjs/common';
import { TasksService, currentTask } from '../../lib/index.js';
import { Probe, gate } from './probe.js';
import { rawResponse } from './raw.js';

/** A request-context store of the kind nestjs-cls and log-correlation libraries keep. */
export const correlation = new AsyncLocalStorage<string>();

/** The app's own middleware: opens a correlation id from a request header. */
@Injectable()
export class CorrelationMiddleware implements NestMiddleware {
  use(request: { headers: Record<string, string | undefined> }, _response: unknown, next: () => void) {
    correlation.run(request.headers['x-correlation-id'] ?? 'none', next);
  }
}

const recordFrom = (tasks: TasksService, probe: Probe, where: string) => {
  tasks.afterRoute.schedule(() => probe.record(`${where}:afterRoute`));
  tasks.afterResponse.schedule(() => probe.record(`${where}:afterResponse`));
  tasks.schedule(() => probe.record(`${where}:immediate`));
};

@Injectable()
export class SchedulingGuard implements CanActivate {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}
  canActivate() {
    recordFrom(this.tasks, this.probe, 'guard');
    return true;
  }
}

@Injectable()
export class SchedulingInterceptor implements NestInterceptor {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}
  intercept(_context: unknown, next: CallHandler) {
    recordFrom(this.tasks, this.probe, 'interceptor');
    return next.handle();
  }
}

@Injectable()
export class SchedulingPipe implements PipeTransform {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}
  transform(value: string) {
    recordFrom(this.tasks, this.probe, 'pipe');
    return value;
  }
}

export class Teapot extends Error {}

@Catch(Teapot)
@Injectable()
export class SchedulingFilter implements ExceptionFilter {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}
  catch(_error: Teapot, host: ArgumentsHost) {
    this.tasks.schedule(() => this.probe.record('filter:immediate'));
    this.tasks.afterResponse.task({ always: true }).schedule(() => this.probe.record('filter:afterResponse'));
    host.switchToHttp().getResponse<{ status(code: number): { send(body: unknown): void } }>().status(418).send({});
  }
}

/** Schedules an immediate task at start-up, outside any request. */
@Injectable()
export class StartupTasks implements OnModuleInit {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}
  onModuleInit() {
    this.tasks.schedule(() => this.probe.record('startup:ran'));
  }
}

/** Held by a test to keep a handler (or its tasks) waiting. */
export const hold = { gate: gate() };

@Controller('context')
export class ContextController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  @Get('everywhere/:id')
  @UseGuards(SchedulingGuard)
  @UseInterceptors(SchedulingInterceptor)
  everywhere(@Param('id', SchedulingPipe) _id: string) {
    recordFrom(this.tasks, this.probe, 'handler');
    return { ok: true };
  }

  @Get('filter')
  @UseFilters(SchedulingFilter)
  filtered() {
    throw new Teapot();
  }

  @Get('correlation')
  correlated() {
    const read = (mode: string) => () => this.probe.record(`${mode}:${correlation.getStore()}`);
    this.tasks.schedule(read('immediate'));
    this.tasks.afterRoute.schedule(read('afterRoute'));
    this.tasks.afterResponse.schedule(read('afterResponse'));
    return { ok: true };
  }

  @Get('correlation-abandoned')
  async correlationAbandoned(@Res({ passthrough: true }) response: unknown) {
    rawResponse(response).once('close', () => this.probe.record('abandoned:closed'));
    this.tasks.afterResponse.schedule(() => this.probe.record(`abandoned:afterResponse:${correlation.getStore()}`));
    this.probe.record('abandoned:entered');
    await hold.gate.promise;
    return { ok: true };
  }

  @Get('current-task')
  current() {
    const outside = currentTask();
    const task = this.tasks.schedule(async () => {
      await Promise.resolve();
      this.probe.record(`inside:${currentTask() === task}`);
    });
    this.probe.record(`outside:${String(outside)}`);
    return { ok: true };
  }

  @Get('waiting')
  async waiting() {
    this.tasks.afterResponse.schedule(() => this.probe.record('waiting:afterResponse'));
    this.probe.record('waiting:entered');
    await hold.gate.promise;
    return { ok: true };
  }
}

/** Mounts the app's correlation middleware on every route. */
@Module({ providers: [CorrelationMiddleware] })
export class CorrelationModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(CorrelationMiddleware).forRoutes('{*path}');
  }
}

/** A POST with a JSON body: the body is read after the store is opened. */
@Controller('context')
export class BodyController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  @Post('body')
  withBody(@Body() body: { id: string }) {
    this.tasks.afterRoute.schedule(() => this.probe.record(`body:afterRoute:${body.id}:${correlation.getStore()}`));
    this.tasks.afterResponse.schedule(() =>
      this.probe.record(`body:afterResponse:${body.id}:${correlation.getStore()}`),
    );
    return { id: body.id };
  }
}
