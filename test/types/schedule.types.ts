/**
 * Type tests, checked by `npm run typecheck`: each `@ts-expect-error` fails the check if the
 * line below it compiles.
 */
import { Task, TaskConfig, TasksModule, TasksService, type TaskErrorHandler } from '../../lib/index.js';

declare const tasks: TasksService;
const sync = (id: string, retries: number): string => `${id}:${retries}`;

export const ok: Task<[string, number]> = tasks.schedule(sync, 'o-1', 3);
export const plain: Task = tasks.afterResponse.task({ name: 'n' }).schedule(sync, 'o-1', 3);
export const args: readonly [string, number] = ok.args;

// @ts-expect-error a number is not a string
tasks.schedule(sync, 42, 3);
// @ts-expect-error an argument is missing
tasks.afterRoute.schedule(sync, 'o-1');
// @ts-expect-error one argument too many
tasks.afterResponse.schedule(sync, 'o-1', 3, 'extra');
// @ts-expect-error shield is a boolean
tasks.task({ shield: 'yes' });
// @ts-expect-error unknown option
tasks.task({ sheild: true });

export const handler: TaskErrorHandler = (task, error) => {
  const name: string = task.name;
  const config: TaskConfig = task.config;
  const signal: AbortSignal = task.signal;
  return void [name, config, signal, error];
};

// @Task() applies to methods only.
export class Decorated {
  @Task({ name: 'ok' })
  method(id: string): string {
    return id;
  }

  // @ts-expect-error not a method: a property
  @Task()
  property = 'x';
}

// @ts-expect-error not a method: a class
@Task()
export class NotAMethod {}

// forRoot and forRootAsync options are typed.
TasksModule.forRoot({ shutdownTimeout: 1000, onError: (task, error) => void [task.name, error] });
// shutdownTimeout may be a string (environment variables are); its content is checked at run time.
TasksModule.forRoot({ shutdownTimeout: '10000' });
// @ts-expect-error shutdownTimeout is a number or a string
TasksModule.forRoot({ shutdownTimeout: true });
TasksModule.forRootAsync({ useFactory: () => ({ shield: true }) });
// @ts-expect-error the factory must return options
TasksModule.forRootAsync({ useFactory: () => 'options' });
class OptionsFactory {
  createTasksOptions() {
    return Promise.resolve({ shutdownTimeout: '1000' });
  }
}
TasksModule.forRootAsync({ useClass: OptionsFactory });
TasksModule.forRootAsync({ useExisting: OptionsFactory });
// @ts-expect-error useClass must implement TasksOptionsFactory
TasksModule.forRootAsync({ useClass: class NotAFactory {} });
