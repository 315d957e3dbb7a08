import {
  BadRequestException,
  Controller,
  Get,
  Injectable,
  RequestTimeoutException,
  UseInterceptors,
  type CallHandler,
  type NestInterceptor,
} from '@nestjs/common';
import { catchError, map, retry, throwError, timeout, TimeoutError, timer, type Observable } from 'rxjs';
import { TasksService } from '../../lib/index.js';
import { scheduleAll } from './failures.controller.js';
import { Probe, gate } from './probe.js';

/** Retries the handler once, as a resilience interceptor does. */
@Injectable()
export class RetryOnceInterceptor implements NestInterceptor {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    scheduleAll(this.tasks, this.probe, 'interceptor');
    return next.handle().pipe(retry(1));
  }
}

/** Answers 408 when the handler takes longer than 50 ms. */
@Injectable()
export class TimeoutInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      timeout(50),
      catchError((error: unknown) =>
        throwError(() => (error instanceof TimeoutError ? new RequestTimeoutException() : error)),
      ),
    );
  }
}

/** Fails the response after the handler completed. */
@Injectable()
export class ThrowAfterInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map(() => {
        throw new BadRequestException('rejected after the handler');
      }),
    );
  }
}

/** A lazy thenable, as PrismaPromise, mongoose Query and knex builders are: work starts on `then`. */
export class LazyThenable<T> implements PromiseLike<T> {
  thenCalls = 0;
  constructor(private readonly work: () => Promise<T>) {}
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): PromiseLike<R1 | R2> {
    this.thenCalls++;
    return this.work().then(onFulfilled, onRejected);
  }
}

/** Controls shared with the test: gates and counters of the current request. */
export const outcomes = {
  attempts: 0,
  query: gate(),
  late: gate(),
  thenable: undefined as LazyThenable<unknown> | undefined,
};

@Controller('outcomes')
export class OutcomesController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  @Get('retry')
  @UseInterceptors(RetryOnceInterceptor)
  retried() {
    const attempt = ++outcomes.attempts;
    scheduleAll(this.tasks, this.probe, `attempt${attempt}`);
    if (attempt === 1) throw new Error('first attempt fails');
    return { ok: true, attempts: attempt };
  }

  @Get('thenable')
  thenable() {
    scheduleAll(this.tasks, this.probe, 'handler');
    outcomes.thenable = new LazyThenable(async () => {
      this.probe.record('query:start');
      await outcomes.query.promise;
      this.probe.record('query:end');
      return { rows: 1 };
    });
    return outcomes.thenable;
  }

  @Get('thenable-rejects')
  thenableRejects() {
    scheduleAll(this.tasks, this.probe, 'handler');
    return new LazyThenable(() => Promise.reject(new Error('query failed')));
  }

  @Get('observable-timeout')
  @UseInterceptors(TimeoutInterceptor)
  slowObservable() {
    scheduleAll(this.tasks, this.probe, 'handler');
    return timer(10_000).pipe(map(() => ({ ok: true })));
  }

  @Get('promise-timeout')
  @UseInterceptors(TimeoutInterceptor)
  async slowPromise() {
    scheduleAll(this.tasks, this.probe, 'handler');
    await outcomes.late.promise;
    this.probe.record('handler:resolved');
    return { ok: true };
  }

  @Get('throw-after')
  @UseInterceptors(ThrowAfterInterceptor)
  throwAfter() {
    scheduleAll(this.tasks, this.probe, 'handler');
    return { ok: true };
  }
}
