import { Controller, Get, Injectable, Scope } from '@nestjs/common';
import { of } from 'rxjs';
import { TasksService } from '../../lib/index.js';
import { Probe } from './probe.js';

/** A request-scoped dependency makes the controller below request-scoped too. */
@Injectable({ scope: Scope.REQUEST })
export class PerRequest {
  readonly id = Math.random();
}

@Controller('scoped')
export class ScopedController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
    readonly perRequest: PerRequest,
  ) {}

  @Get()
  handle() {
    this.tasks.afterRoute.schedule(() => this.probe.record('scoped:afterRoute'));
    this.tasks.afterResponse.schedule(() => this.probe.record('scoped:afterResponse'));
    return { ok: true };
  }
}

/** Route handlers in the shapes Nest accepts: plain value, promise, observable, promise of observable. */
@Controller('shapes')
export class ShapesController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  private schedule(shape: string) {
    this.tasks.afterRoute.schedule(() => this.probe.record(`${shape}:afterRoute`));
    this.tasks.afterResponse.schedule(() => this.probe.record(`${shape}:afterResponse`));
  }

  @Get('observable')
  observable() {
    this.schedule('observable');
    return of({ shape: 'observable' });
  }

  @Get('promise-of-observable')
  async promiseOfObservable() {
    this.schedule('promise-of-observable');
    await Promise.resolve();
    return of({ shape: 'promise-of-observable' });
  }

  @Get('nested')
  async nested() {
    this.schedule('nested');
    const inner = this.inner();
    await new Promise((resolve) => setImmediate(resolve));
    this.probe.record('nested:outer-returns');
    return inner;
  }

  @Get('inner')
  inner() {
    return { shape: 'nested' };
  }
}
