import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestTasks, requestStorage } from './request-tasks.js';
import { TaskRunner } from './task-runner.js';

/**
 * Opens the request's task store before guards run, so `TasksService` works in guards,
 * interceptors, pipes, the handler and exception filters. Mounted on every route by
 * `TasksModule`. On both adapters Nest hands middleware the raw Node request and response.
 */
@Injectable()
export class TasksMiddleware implements NestMiddleware<IncomingMessage, ServerResponse> {
  constructor(private readonly runner: TaskRunner) {}

  use(_request: IncomingMessage, response: ServerResponse, next: () => void): void {
    requestStorage.run(new RequestTasks(response, this.runner), next);
  }
}
