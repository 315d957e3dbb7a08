import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestTasks, requestStorage } from './request-tasks.js';
import { TaskRunner } from './task-runner.js';

type Next = (error?: unknown) => void;

/**
 * Opens the request's task store before guards run, so `TasksService` works in guards,
 * interceptors, pipes, the handler and exception filters.
 *
 * On Express and Fastify it is mounted straight on the server (an Express `use()` / a Fastify
 * `onRequest` hook) rather than as Nest middleware: Nest middleware costs a path match per
 * request, and on Fastify it brings in `@fastify/middie`, which measured about a third of a
 * hello-world route's throughput. Other adapters get the Nest middleware on every route.
 */
@Injectable()
export class TasksMiddleware implements NestMiddleware<IncomingMessage, ServerResponse> {
  constructor(private readonly runner: TaskRunner) {}

  use(_request: IncomingMessage, response: ServerResponse, next: Next): void {
    requestStorage.run(new RequestTasks(response, this.runner), next);
  }

  /** Mounts the store directly on a known HTTP server; returns false for other adapters. */
  mountOn(adapter: AbstractHttpAdapter | undefined): boolean {
    if (adapter === undefined) return false;
    const type = adapter.getType();
    if (type === 'express') {
      const app = adapter.getInstance<{
        use(fn: (req: IncomingMessage, res: ServerResponse, next: Next) => void): void;
      }>();
      app.use((request, response, next) => this.use(request, response, next));
      return true;
    }
    if (type === 'fastify') {
      const app = adapter.getInstance<{
        addHook(
          name: 'onRequest',
          hook: (request: { raw: IncomingMessage }, reply: { raw: ServerResponse }, done: Next) => void,
        ): void;
      }>();
      app.addHook('onRequest', (request, reply, done) => this.use(request.raw, reply.raw, done));
      return true;
    }
    return false;
  }
}
