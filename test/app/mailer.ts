import { Injectable } from '@nestjs/common';
import { Task } from '../../lib/index.js';

/** A provider with @Task() methods that rely on `this`. */
@Injectable()
export class Mailer {
  readonly sent: string[] = [];

  @Task({ name: 'send_confirmation', shield: true })
  async sendConfirmation(orderId: string): Promise<void> {
    await Promise.resolve();
    this.sent.push(`confirmation:${orderId}`);
  }

  @Task()
  sendReminder(orderId: string): void {
    this.sent.push(`reminder:${orderId}`);
  }

  /** Not decorated: `this` is not bound for plain methods. */
  plain(): string {
    return 'plain';
  }
}
