import { Logger, Module } from '@nestjs/common';
import { TasksModule, type Task } from 'nestjs-tasks';
import { Mailer } from './mailer.service.js';
import { OrdersController } from './orders.controller.js';

const logger = new Logger('Report');

/** The global error handler: in a real app, send it to your error tracker. */
function report(task: Task, error: unknown): void {
  logger.error(`task "${task.name}" failed: ${error instanceof Error ? error.message : String(error)}`);
}

@Module({
  imports: [TasksModule.forRoot({ onError: report, shield: false, shutdownTimeout: 10_000 })],
  controllers: [OrdersController],
  providers: [Mailer],
})
export class AppModule {}
