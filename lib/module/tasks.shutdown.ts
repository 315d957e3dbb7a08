import { Injectable, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { TaskRunner } from '../core/task-runner.js';

/**
 * Drains shielded tasks at shutdown, twice. Nest calls every `onModuleDestroy` before any
 * `beforeApplicationShutdown` or `onApplicationShutdown`, so the first drain ends before any
 * provider closes in those two hooks (and a provider closing in `onModuleDestroy` can await
 * `tasks.drained()`, which joins the same drain). The HTTP server still answers in-flight
 * requests then; the second drain, after it has closed, awaits the shielded tasks they scheduled.
 */
@Injectable()
export class TasksShutdown implements OnModuleDestroy, OnApplicationShutdown {
  constructor(private readonly runner: TaskRunner) {}

  onModuleDestroy(): Promise<void> {
    return this.runner.drained();
  }

  onApplicationShutdown(): Promise<void> {
    return this.runner.shutdown();
  }
}
