import { Controller, Get, Inject, Injectable, Param, Scope } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { Task, TasksService } from '../../lib/index.js';
import { Mailer } from './mailer.js';
import { Probe } from './probe.js';

/** A request-scoped provider whose @Task method needs `this` (its request). */
@Injectable({ scope: Scope.REQUEST })
export class RequestAudit {
  constructor(
    @Inject(REQUEST) private readonly request: { headers: Record<string, string | string[] | undefined> },
    private readonly probe: Probe,
  ) {}

  @Task({ name: 'audit_order', shield: true })
  async record(orderId: string): Promise<void> {
    await Promise.resolve();
    this.probe.record(`audit:${orderId}:${String(this.request.headers['x-request-id'])}`);
  }
}

/** Schedules methods with call(): request-scoped (through RequestAudit) and singleton (Mailer). */
@Controller('call')
export class CallController {
  constructor(
    private readonly tasks: TasksService,
    private readonly audit: RequestAudit,
    private readonly mailer: Mailer,
  ) {}

  @Get(':id')
  handle(@Param('id') id: string) {
    const scheduled = [
      this.tasks.afterResponse.call(this.audit, 'record', id),
      this.tasks.afterRoute.task({ name: `audit_${id}`, always: true }).call(this.audit, 'record', `${id}-renamed`),
      this.tasks.call(this.mailer, 'sendConfirmation', id),
      this.tasks.afterResponse.call(this.mailer, 'sendReminder', id),
    ];
    return scheduled.map((task) => ({ name: task.name, config: { ...task.config }, args: task.args }));
  }
}
