// The README's Control examples, compiled by `npm run typecheck` (test/readme.spec.ts checks that
// each is here, as one run of lines).
import {
  Catch,
  Controller,
  Get,
  HttpStatus,
  Injectable,
  Logger,
  Module,
  Post,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { Task, TaskQueueFullError, TaskTimeoutError, TasksModule, TasksService, currentTask } from 'nestjs-tasks';
import { report } from './stubs.js';

declare const smtp: { send(to: string, signal?: AbortSignal): Promise<void> };
declare const rates: { refresh(signal?: AbortSignal): Promise<void> };
declare const crm: { push(id: string): Promise<void> };
class BadRequestError extends Error {}

TasksModule.forRoot({ maxConcurrency: 50, onError: report });

@Injectable()
export class Mail {
  @Task({ name: 'send_email', concurrency: 5, queueLimit: 500, retry: 3, timeout: 10_000 })
  async send(to: string) {
    await smtp.send(to, currentTask()?.signal);
  }
}

@Injectable()
export class Jobs {
  constructor(private readonly tasks: TasksService) {}

  schedule(id: string) {
    this.tasks.task({ timeout: 5_000 }).schedule(() => rates.refresh(currentTask()?.signal));

    this.tasks
      .task({
        name: 'crm_push',
        retry: {
          attempts: 5,
          delay: 500,
          backoff: 'exponential',
          maxDelay: 10_000,
          jitter: true,
          retryIf: (error) => !(error instanceof BadRequestError),
        },
      })
      .schedule(crm.push, id);
  }
}

const logger = new Logger('Jobs');

TasksModule.forRoot({
  onError: (task, error) => {
    if (error instanceof TaskTimeoutError) logger.warn(`${task.name} timed out (attempt ${task.attempt})`);
    else logger.error(`${task.name} failed`, error);
  },
});

@Catch(TaskQueueFullError)
export class TasksBusyFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: TaskQueueFullError, host: ArgumentsHost) {
    const { httpAdapter } = this.adapterHost;
    const response: unknown = host.switchToHttp().getResponse();
    httpAdapter.setHeader(response, 'Retry-After', '5');
    httpAdapter.reply(
      response,
      { statusCode: 503, message: `Too busy: ${error.group}` },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
}

@Controller('signup')
export class SignupController {
  constructor(
    private readonly tasks: TasksService,
    private readonly mail: Mail,
  ) {}

  @Post()
  signup() {
    this.tasks.afterResponse.call(this.mail, 'send', 'new@example.com');
    return { ok: true };
  }

  @Get('tasks')
  stats() {
    const { queued, running, failed, groups } = this.tasks.stats();
    return { queued, running, failed, email: groups.send_email };
  }
}

@Module({
  imports: [TasksModule.forRoot()],
  controllers: [SignupController],
  providers: [Mail, { provide: APP_FILTER, useClass: TasksBusyFilter }],
})
export class ControlModule {}
