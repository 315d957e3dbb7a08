import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { TaskRunner } from './task-runner.js';

/**
 * Drains tasks at shutdown. Nest calls `onApplicationShutdown` after the HTTP server has
 * stopped taking requests and every in-flight response has closed, so every afterResponse
 * task of an answered request is already known here.
 */
@Injectable()
export class TasksShutdown implements OnApplicationShutdown {
  constructor(private readonly runner: TaskRunner) {}

  onApplicationShutdown(): Promise<void> {
    return this.runner.shutdown();
  }
}
