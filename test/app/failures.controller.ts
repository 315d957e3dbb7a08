import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  Controller,
  Get,
  Injectable,
  Param,
  Res,
  UseFilters,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type NestInterceptor,
  type PipeTransform,
} from '@nestjs/common';
import { of, throwError, type Observable } from 'rxjs';
import { TasksService } from '../../lib/index.js';
import { Probe, gate } from './probe.js';
import { rawResponse } from './raw.js';

/** Schedules one task of each kind, named `${prefix}:mode[:always]`, recording its start. */
export function scheduleAll(tasks: TasksService, probe: Probe, prefix: string): void {
  const mark = (event: string) => () => probe.record(event);
  tasks.task({ name: `${prefix}:immediate` }).schedule(mark(`${prefix}:immediate`));
  tasks.afterRoute.task({ name: `${prefix}:afterRoute` }).schedule(mark(`${prefix}:afterRoute`));
  tasks.afterResponse.task({ name: `${prefix}:afterResponse` }).schedule(mark(`${prefix}:afterResponse`));
  tasks.afterRoute
    .task({ name: `${prefix}:afterRoute:always`, always: true })
    .schedule(mark(`${prefix}:afterRoute:always`));
  tasks.afterResponse
    .task({ name: `${prefix}:afterResponse:always`, always: true })
    .schedule(mark(`${prefix}:afterResponse:always`));
}

@Injectable()
export class RejectingGuard implements CanActivate {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}
  canActivate(): boolean {
    scheduleAll(this.tasks, this.probe, 'guard');
    return false;
  }
}

@Injectable()
export class RejectingPipe implements PipeTransform {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}
  transform(): never {
    scheduleAll(this.tasks, this.probe, 'pipe');
    throw new BadRequestException('bad param');
  }
}

@Injectable()
export class RejectingInterceptor implements NestInterceptor {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}
  intercept(_context: unknown, _next: CallHandler): never {
    scheduleAll(this.tasks, this.probe, 'interceptor');
    throw new BadRequestException('rejected by interceptor');
  }
}

/** Lets a test hold a guard until its client has gone away. */
export const guardHold = { gate: gate() };

/** Schedules, then waits (for the test) before letting the request through. */
@Injectable()
export class HoldingGuard implements CanActivate {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  async canActivate(): Promise<boolean> {
    scheduleAll(this.tasks, this.probe, 'guard');
    this.probe.record('hold:entered');
    await guardHold.gate.promise;
    this.probe.record('hold:released');
    return true;
  }
}

/** Schedules and lets the request through. */
@Injectable()
export class PassingGuard implements CanActivate {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  canActivate(): boolean {
    scheduleAll(this.tasks, this.probe, 'guard');
    return true;
  }
}

/** A cache hit: answers from the cache without calling `next.handle()`, so the handler never runs. */
@Injectable()
export class CacheHitInterceptor implements NestInterceptor {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  intercept(_context: unknown, _next: CallHandler): Observable<unknown> {
    scheduleAll(this.tasks, this.probe, 'interceptor');
    return of({ cached: true });
  }
}

export class Recoverable extends Error {}

@Catch(Recoverable)
@Injectable()
export class Answer200Filter implements ExceptionFilter {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}
  catch(_error: Recoverable, host: ArgumentsHost): void {
    scheduleAll(this.tasks, this.probe, 'filter');
    const response = host.switchToHttp().getResponse<{ status(code: number): { send(body: unknown): void } }>();
    response.status(200).send({ recovered: true });
  }
}

/** Lets a test hold the slow handler until the client has gone away. */
export const slow = { gate: gate() };

@Controller('fail')
export class FailuresController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  @Get('throws')
  throws() {
    scheduleAll(this.tasks, this.probe, 'handler');
    throw new BadRequestException('nope');
  }

  @Get('rejects')
  async rejects() {
    scheduleAll(this.tasks, this.probe, 'handler');
    await Promise.resolve();
    throw new Error('async failure');
  }

  @Get('observable-error')
  observableError() {
    scheduleAll(this.tasks, this.probe, 'handler');
    return throwError(() => new Error('observable failure'));
  }

  @Get('guard')
  @UseGuards(RejectingGuard)
  guarded() {
    this.probe.record('handler:ran');
  }

  @Get('pipe/:id')
  piped(@Param('id', RejectingPipe) _id: string) {
    this.probe.record('handler:ran');
  }

  @Get('interceptor')
  @UseInterceptors(RejectingInterceptor)
  intercepted() {
    this.probe.record('handler:ran');
  }

  @Get('guard-left')
  @UseGuards(HoldingGuard)
  afterHeldGuard() {
    scheduleAll(this.tasks, this.probe, 'handler');
    this.probe.record('hold:handler-returned');
    return { ok: true };
  }

  @Get('cached')
  @UseGuards(PassingGuard)
  @UseInterceptors(CacheHitInterceptor)
  cached() {
    this.probe.record('handler:ran');
    return { cached: false };
  }

  @Get('filtered')
  @UseFilters(Answer200Filter)
  filtered() {
    scheduleAll(this.tasks, this.probe, 'handler');
    throw new Recoverable('handled by the filter');
  }

  @Get('ok')
  ok() {
    scheduleAll(this.tasks, this.probe, 'handler');
    return { ok: true };
  }

  @Get('slow')
  async slowHandler(@Res({ passthrough: true }) response: unknown) {
    rawResponse(response).once('close', () => this.probe.record('slow:closed'));
    this.probe.record('slow:entered');
    await slow.gate.promise;
    scheduleAll(this.tasks, this.probe, 'slow');
    this.probe.record('slow:returned');
    return { ok: true };
  }

  @Get('late')
  late() {
    const mark = (event: string) => () => this.probe.record(event);
    this.tasks.schedule(async () => {
      await this.probe.waitFor('late:handler-returned');
      this.tasks.afterRoute.schedule(mark('late:afterRoute-from-immediate'));
    });
    this.tasks.afterResponse.schedule(() => {
      this.tasks.afterRoute.schedule(mark('late:afterRoute-from-afterResponse'));
      this.tasks.afterResponse.schedule(mark('late:afterResponse-from-afterResponse'));
    });
    this.probe.record('late:handler-returned');
    return { ok: true };
  }

  @Get('late-failed')
  lateFailed() {
    const mark = (event: string) => () => this.probe.record(event);
    this.tasks.afterResponse.task({ always: true }).schedule(() => {
      this.tasks.afterRoute.task({ name: 'late:dropped' }).schedule(mark('late:dropped'));
      this.tasks.afterResponse.task({ always: true }).schedule(mark('late:always'));
    });
    throw new BadRequestException('failed');
  }
}
