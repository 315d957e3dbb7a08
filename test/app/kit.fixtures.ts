import { BadRequestException, Controller, Injectable, Param, Post } from '@nestjs/common';
import { Task, TasksService, currentTask } from '../../lib/index.js';

/** A provider whose @Task() method the kit's tests capture and run. */
@Injectable()
export class Receipts {
  readonly sent: string[] = [];

  @Task({ name: 'send_receipt' })
  async send(orderId: string): Promise<void> {
    await Promise.resolve();
    this.sent.push(orderId);
  }
}

export const audited: string[] = [];

export function audit(orderId: string): void {
  audited.push(orderId);
}

/** Never settles by itself: it rejects when its signal aborts (its timeout). */
export function hang(): Promise<void> {
  const signal = currentTask()!.signal;
  return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
}

@Controller('kit')
export class KitController {
  constructor(
    private readonly tasks: TasksService,
    private readonly receipts: Receipts,
  ) {}

  /** A receipt after the response, an audit now. */
  @Post('orders/:id')
  order(@Param('id') id: string) {
    this.tasks.afterResponse.call(this.receipts, 'send', id);
    this.tasks.task({ name: `audit_${id}` }).schedule(audit, id);
    return { id };
  }

  /** One task that throws, one that times out; the response is still 201. */
  @Post('broken')
  broken() {
    this.tasks.afterRoute.task({ name: 'explode' }).schedule(() => {
      throw new Error('the warehouse is on fire');
    });
    this.tasks.task({ name: 'stuck', timeout: 20 }).schedule(hang);
    return { ok: true };
  }

  /** A task that schedules a follow-up after the response: it needs its request's context. */
  @Post('chain')
  chain() {
    this.tasks.task({ name: 'first' }).schedule(() => {
      this.tasks.afterResponse.task({ name: 'follow_up' }).schedule(audit, 'follow_up');
    });
    return { ok: true };
  }

  /** A failed request: its afterResponse task is dropped. */
  @Post('cancel')
  cancel() {
    this.tasks.afterResponse.task({ name: 'notify_cancel' }).schedule(audit, 'cancel');
    throw new BadRequestException('cannot cancel');
  }
}
