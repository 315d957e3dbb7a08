// Linted by test/lint.spec.ts with typescript-eslint's recommendedTypeChecked (the default of a
// `nest new` project): the call() form must pass `@typescript-eslint/unbound-method`, while
// passing a method as a value is flagged (which proves the rule is on).
import { Injectable } from '@nestjs/common';
import { Task, TasksService } from '../../lib/index.js';

@Injectable()
export class Mailer {
  @Task({ name: 'send_confirmation', shield: true })
  async sendConfirmation(orderId: string): Promise<void> {
    await Promise.resolve(orderId);
  }
}

@Injectable()
export class Orders {
  constructor(
    private readonly tasks: TasksService,
    private readonly mailer: Mailer,
  ) {}

  callForm(id: string): void {
    this.tasks.afterResponse.call(this.mailer, 'sendConfirmation', id); // lint-clean
    this.tasks.afterRoute.task({ name: `confirm_${id}` }).call(this.mailer, 'sendConfirmation', id); // lint-clean
    this.tasks.call(this.mailer, 'sendConfirmation', id); // lint-clean
  }

  methodAsValue(id: string): void {
    this.tasks.afterResponse.schedule(this.mailer.sendConfirmation, id); // flagged: unbound-method
  }
}
