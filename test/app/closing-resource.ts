import {
  Global,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { TasksService } from '../../lib/index.js';

export type ClosingHook = 'onModuleDestroy' | 'beforeApplicationShutdown' | 'onApplicationShutdown';

/**
 * A database-like resource that closes in one of Nest's shutdown hooks (`Resource.hook`),
 * awaiting `tasks.drained()` first when `Resource.awaitDrain` is set.
 */
@Injectable()
export class Resource implements OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown {
  static hook: ClosingHook = 'onModuleDestroy';
  static awaitDrain = true;
  static readonly events: string[] = [];
  closed = false;
  constructor(private readonly tasks: TasksService) {}
  onModuleDestroy() {
    return this.close('onModuleDestroy');
  }
  beforeApplicationShutdown() {
    return this.close('beforeApplicationShutdown');
  }
  onApplicationShutdown() {
    return this.close('onApplicationShutdown');
  }
  private async close(hook: ClosingHook) {
    if (hook !== Resource.hook) return;
    if (Resource.awaitDrain) await this.tasks.drained();
    this.closed = true;
    Resource.events.push('resource:closed');
  }
}

/** The resource's module, global or not. */
export function resourceModule(global: boolean): DynamicModule {
  @Module({})
  class ResourceModule {}
  const module: DynamicModule = { module: ResourceModule, providers: [Resource], exports: [Resource] };
  if (global) Global()(ResourceModule);
  return { ...module, global };
}
