// Copied into each consumer project's src/ by scripts/consumers.mjs: a user's app, importing
// nestjs-tasks from the installed tarball.
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { Task, TasksModule, TasksService } from 'nestjs-tasks';

@Injectable()
export class Ledger {
  readonly entries: string[] = [];

  @Task({ name: 'record_after_response', shield: true })
  record(entry: string): void {
    this.entries.push(entry);
  }
}

@Controller()
export class AppController {
  constructor(
    private readonly tasks: TasksService,
    private readonly ledger: Ledger,
  ) {}

  @Get()
  hello() {
    this.tasks.schedule((entry: string) => this.ledger.entries.push(entry), 'immediate');
    this.tasks.afterRoute.schedule((entry: string) => this.ledger.entries.push(entry), 'afterRoute');
    this.tasks.afterResponse.schedule(this.ledger.record, 'afterResponse');
    return { hello: 'world' };
  }
}

@Module({
  imports: [TasksModule.forRoot()],
  controllers: [AppController],
  providers: [Ledger],
})
export class AppModule {}
