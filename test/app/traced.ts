import { Controller, Get, Injectable, Param, Scope } from '@nestjs/common';
import { Task, TasksService } from '../../lib/index.js';
import { Probe } from './probe.js';

/**
 * A tracing decorator as tracing and transaction libraries write them: it replaces
 * `descriptor.value` with a wrapper. Above `@Task()`, it runs after it (decorators apply bottom-up),
 * so the class ends up holding the wrapper, not the function `@Task()` saw.
 */
export function Traced(): MethodDecorator {
  return (_target, key, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as (...args: unknown[]) => unknown;
    descriptor.value = function traced(this: unknown, ...args: unknown[]) {
      spans.push(String(key));
      return original.apply(this, args);
    };
  };
}

/** The spans the wrappers opened: shows the wrapper, not the bare method, ran. */
export const spans: string[] = [];

@Injectable()
export class TracedService {
  constructor(private readonly probe: Probe) {}

  @Traced()
  @Task({ name: 'traced', shield: true })
  record(id: string): void {
    this.probe.record(`traced:${id}`);
  }
}

@Injectable({ scope: Scope.REQUEST })
export class ScopedTracedService {
  constructor(private readonly probe: Probe) {}

  @Traced()
  @Task({ name: 'scoped_traced', always: true })
  record(id: string): void {
    this.probe.record(`scoped_traced:${id}`);
  }
}

/** Schedules the traced methods every way: schedule() of the bound method, and call(). */
@Controller('traced')
export class TracedController {
  constructor(
    private readonly tasks: TasksService,
    private readonly traced: TracedService,
    private readonly scoped: ScopedTracedService,
  ) {}

  @Get(':id')
  handle(@Param('id') id: string) {
    const scheduled = [
      this.tasks.schedule(this.traced.record, `${id}-schedule`),
      this.tasks.afterResponse.schedule(this.traced.record, `${id}-after-response`),
      this.tasks.afterRoute.call(this.traced, 'record', `${id}-call`),
      this.tasks.afterResponse.call(this.scoped, 'record', `${id}-scoped`),
    ];
    return scheduled.map((task) => ({ name: task.name, config: { ...task.config } }));
  }
}
