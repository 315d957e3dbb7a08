// The README's quick start, compiled by `npm run typecheck` (test/readme.spec.ts checks that the
// README's code is here, as one run of lines).
/* eslint-disable @typescript-eslint/no-unused-vars -- the README's method body is only a comment */
import { CreateOrder, audit, finalize, report, save, warmCache } from './stubs.js';
import { Module, Controller, Post, Body, Injectable } from '@nestjs/common';
import { TasksModule, TasksService, Task } from 'nestjs-tasks';

@Injectable()
export class Mailer {
  @Task({ name: 'send_confirmation', shield: true })
  async sendConfirmation(orderId: string) {
    /* runs with `this` = the Mailer and this @Task config, on any provider scope */
  }
}

@Controller('orders')
export class OrdersController {
  constructor(
    private readonly tasks: TasksService,
    private readonly mailer: Mailer,
  ) {}

  @Post()
  create(@Body() body: CreateOrder) {
    const id = save(body);
    this.tasks.afterResponse.call(this.mailer, 'sendConfirmation', id); // a method, after the response is sent
    this.tasks.schedule(warmCache, id); // a function, immediate
    this.tasks.task({ name: `audit_${id}` }).schedule(audit, id); // immediate, configured
    this.tasks.afterRoute.task({ shield: true }).schedule(finalize, id); // after the handler completes
    return { id };
  }
}

@Module({
  imports: [TasksModule.forRoot({ onError: report, shield: false })],
  controllers: [OrdersController],
  providers: [Mailer],
})
export class AppModule {}
