import { Controller, Get, Param } from '@nestjs/common';
import { Task, TasksService, currentTask } from '../../lib/index.js';
import { Probe } from './probe.js';

/** A route handler that is also a `@Task()` method, scheduled by another route. */
@Controller('task-route')
export class TaskRouteController {
  private readonly label = 'controller';

  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  @Get('report/:id')
  @Task({ name: 'report', shield: true })
  report(@Param('id') id: string): { id: string } {
    const task = currentTask();
    this.probe.record(`report:${id}:this=${this.label}:task=${task?.name}:shield=${task?.config.shield}`);
    return { id };
  }

  @Get('schedule/:id')
  schedule(@Param('id') id: string): { ok: true } {
    this.tasks.afterResponse.schedule(this.report, id);
    return { ok: true };
  }
}
