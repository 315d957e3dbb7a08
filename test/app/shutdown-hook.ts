import { Global, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { TasksService } from '../../lib/index.js';

/** What the app's own shutdown hook does with the TasksService; each test sets its own. */
export const onShutdown: { run: (tasks: TasksService) => unknown } = { run: () => undefined };

/** An app provider with an `onApplicationShutdown` hook that runs `onShutdown`. */
@Injectable()
export class AppShutdownHook implements OnApplicationShutdown {
  constructor(private readonly tasks: TasksService) {}

  async onApplicationShutdown(): Promise<void> {
    await onShutdown.run(this.tasks);
  }
}

/**
 * A global module holding that hook. Nest shuts global modules down last, in the reverse of the
 * order they were imported: imported before TasksModule, its hook runs after TasksModule's, so
 * after the shutdown drain has ended. (A hook in any non-global module runs before the drain.)
 */
@Global()
@Module({ providers: [AppShutdownHook] })
export class AppShutdownHookModule {}
