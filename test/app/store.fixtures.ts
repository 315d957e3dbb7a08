import {
  Body,
  Catch,
  Controller,
  Get,
  HttpException,
  Injectable,
  Module,
  Post,
  Res,
  type ArgumentsHost,
  type ExceptionFilter,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
  type OnModuleDestroy,
} from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import { TasksService } from '../../lib/index.js';
import { Probe } from './probe.js';

type Next = () => void;

/**
 * A connection pool's callback queue: callbacks run from a timer made when the module started,
 * outside any request, as pooled database drivers call them.
 */
@Injectable()
export class CallbackPool implements OnModuleDestroy {
  private readonly queue: Next[] = [];
  private readonly timer = setInterval(() => this.queue.splice(0).forEach((callback) => callback()), 1);
  acquire(callback: Next): void {
    this.queue.push(callback);
  }
  onModuleDestroy() {
    clearInterval(this.timer);
  }
}

/** Calls `next()` from the pool's callback: the request's async context is lost. */
@Injectable()
export class LosingMiddleware implements NestMiddleware {
  constructor(private readonly pool: CallbackPool) {}
  use(_request: unknown, _response: unknown, next: Next) {
    this.pool.acquire(next);
  }
}

/** The same, with the fix the error message names. */
@Injectable()
export class BoundMiddleware implements NestMiddleware {
  constructor(private readonly pool: CallbackPool) {}
  use(_request: unknown, _response: unknown, next: Next) {
    this.pool.acquire(AsyncResource.bind(next));
  }
}

@Controller('store')
export class StoreController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  @Get(['lost', 'bound'])
  deferred() {
    try {
      this.tasks.afterResponse.task({ name: 'after-pool' }).schedule(() => this.probe.record('after-pool:ran'));
      return { scheduled: true };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  @Post('json')
  json(@Body() body: unknown) {
    return body;
  }
}

/**
 * A route that leaves a long timer behind, as a cache's TTL or a pooled connection would: the
 * timer keeps the request's async context, and so its task store. The response is watched weakly.
 */
@Controller('store')
export class LingeringController implements OnModuleDestroy {
  readonly responses: WeakRef<object>[] = [];
  private readonly timers: NodeJS.Timeout[] = [];

  @Get('lingering')
  lingering(@Res({ passthrough: true }) response: { raw?: object }) {
    this.responses.push(new WeakRef(response.raw ?? response));
    this.timers.push(setTimeout(() => undefined, 60_000).unref());
    return { lingering: true };
  }

  @Get('plain')
  plain() {
    return { plain: true };
  }

  onModuleDestroy() {
    for (const timer of this.timers) clearTimeout(timer);
  }
}

@Module({ providers: [CallbackPool, LosingMiddleware, BoundMiddleware], exports: [CallbackPool] })
export class PoolModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(LosingMiddleware).forRoutes('store/lost');
    consumer.apply(BoundMiddleware).forRoutes('store/bound');
  }
}

/** A global exception filter that schedules an afterResponse task for every error it answers. */
@Catch()
@Injectable()
export class SchedulingFilter implements ExceptionFilter {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}
  catch(exception: unknown, host: ArgumentsHost) {
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    let scheduled = 'yes';
    try {
      this.tasks.afterResponse
        .task({ name: `filter:${status}`, always: true })
        .schedule(() => this.probe.record(`filter:${status}:ran`));
    } catch (error) {
      scheduled = (error as Error).message;
    }
    const response = host.switchToHttp().getResponse<{ statusCode: number; end(body: string): void }>();
    const raw = (response as unknown as { raw?: typeof response }).raw ?? response;
    raw.statusCode = status;
    raw.end(JSON.stringify({ status, scheduled }));
  }
}
