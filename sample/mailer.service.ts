import { Injectable } from '@nestjs/common';
import { Task } from 'nestjs-tasks';
import { work } from './work.js';

@Injectable()
export class Mailer {
  private readonly from = 'orders@example.com';

  /** Shielded: Ctrl-C while it runs waits for it (up to shutdownTimeout). */
  @Task({ name: 'send_confirmation', shield: true })
  async sendConfirmation(orderId: string): Promise<void> {
    await work(`send_confirmation ${orderId} from ${this.from}`, 3000);
  }
}
