// The README's API examples, compiled by `npm run typecheck` (test/readme.spec.ts checks that each
// is here, as one run of lines).
import { Injectable } from '@nestjs/common';
import {
  TaskConfig,
  TasksModule,
  TasksService,
  currentTask,
  type TasksModuleOptions,
  type TasksOptionsFactory,
} from 'nestjs-tasks';
import { Mailer } from './quick-start.js';
import { ConfigModule, ConfigService, onError, sync } from './stubs.js';

TasksModule.forRootAsync({
  imports: [ConfigModule],
  inject: [ConfigService],
  useFactory: (config: ConfigService) => ({ shutdownTimeout: config.get<string>('TASKS_SHUTDOWN_MS') }),
});

@Injectable()
export class TasksConfig implements TasksOptionsFactory {
  constructor(private readonly config: ConfigService) {}

  createTasksOptions(): TasksModuleOptions {
    return { shutdownTimeout: this.config.get<string>('TASKS_SHUTDOWN_MS') };
  }
}

TasksModule.forRootAsync({ imports: [ConfigModule], useClass: TasksConfig });

export class Methods {
  constructor(
    private readonly tasks: TasksService,
    private readonly mailer: Mailer,
  ) {}

  run(id: string) {
    this.tasks.afterResponse.call(this.mailer, 'sendConfirmation', id);
    this.tasks.afterRoute.task({ name: `confirm_${id}` }).call(this.mailer, 'sendConfirmation', id);
    // @ts-expect-error the README shows this line failing to compile
    this.tasks.call(this.mailer, 'sendConfirmaton', id); // compile error: not a method of Mailer
    // @ts-expect-error the README shows this line failing to compile
    this.tasks.call(this.mailer, 'sendConfirmation', 42); // compile error: number is not a string
  }
}

export class Typed {
  constructor(private readonly tasks: TasksService) {}

  run() {
    const task = this.tasks.schedule((id: string, retries: number) => sync(id, retries), 'o-1', 3);
    // @ts-expect-error the README shows this line failing to compile
    this.tasks.schedule((id: string) => sync(id), 42); // compile error: number is not a string
    return task;
  }
}

export function configs() {
  const base = new TaskConfig({ name: 'audit', shield: true, onError, always: false });
  const merged = base.merge({ shield: false }); // new config: name 'audit', shield false
  return merged;
}

/* eslint-disable @typescript-eslint/no-unused-vars -- the README's example stops at the fetch */
async function download(url: string) {
  const response = await fetch(url, { signal: currentTask()?.signal });
}
/* eslint-enable @typescript-eslint/no-unused-vars */
export { download };
