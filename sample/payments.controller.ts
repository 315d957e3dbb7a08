import { Controller, Param, Post } from '@nestjs/common';
import { TasksService } from 'nestjs-tasks';
import { Receipts } from './receipts.service.js';

/** With REDIS_URL only: a payment whose receipt is a durable task. */
@Controller('orders')
export class PaymentsController {
  constructor(
    private readonly tasks: TasksService,
    private readonly receipts: Receipts,
  ) {}

  @Post(':id/pay')
  pay(@Param('id') id: string) {
    this.tasks.afterResponse.call(this.receipts, 'sendReceipt', id); // the same call site as an in-process task
    return { id, paid: true };
  }
}
