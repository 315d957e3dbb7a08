import { BadRequestException, Controller, Param, Post } from '@nestjs/common';
import { TasksService } from 'nestjs-tasks';
import { Mailer } from './mailer.service.js';
import { work } from './work.js';

let nextId = 1;

@Controller('orders')
export class OrdersController {
  constructor(
    private readonly tasks: TasksService,
    private readonly mailer: Mailer,
  ) {}

  /** One task in each mode, plus a configured one. */
  @Post()
  create() {
    const id = `o-${nextId++}`;
    this.tasks.schedule(work, `warm_cache ${id}`, 500); // immediate
    this.tasks.task({ name: `audit_${id}` }).schedule(work, `audit ${id}`, 1000); // immediate, configured
    this.tasks.afterRoute.task({ shield: true }).schedule(work, `finalize ${id}`, 2000); // after the handler
    this.tasks.afterResponse.call(this.mailer, 'sendConfirmation', id); // a method, after the response
    return { id };
  }

  /** A failing task: the global onError reports it; the response is still 201. */
  @Post('broken')
  broken() {
    this.tasks.task({ name: 'broken_task' }).schedule(() => {
      throw new Error('the warehouse is on fire');
    });
    return { ok: true };
  }

  /** A failed request: afterRoute/afterResponse tasks are dropped (see the debug log) unless `always`. */
  @Post(':id/cancel')
  cancel(@Param('id') id: string) {
    this.tasks.afterResponse.task({ name: `notify_cancel_${id}` }).schedule(work, `notify_cancel ${id}`, 100);
    this.tasks.afterResponse.task({ name: `log_cancel_${id}`, always: true }).schedule(work, `log_cancel ${id}`, 100);
    throw new BadRequestException(`order ${id} cannot be cancelled`);
  }
}
