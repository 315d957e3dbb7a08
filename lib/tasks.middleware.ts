import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { RequestTasks, requestStorage, type RawResponse } from './request-tasks.js';

type Next = (error?: unknown) => void;
type Hook = (request: IncomingMessage, response: RawResponse, next: Next) => void;

interface ExpressLayer {
  name: string;
}
interface ExpressApp {
  use(fn: Hook): void;
  /** Express 4's router (created by the first `use`); Express 5 has `router` instead. */
  _router?: { stack: ExpressLayer[] };
  router?: { stack: ExpressLayer[] };
}

/** Express 4's own first layers, which set up `req`/`res`: the store opens right after them. */
const EXPRESS_INIT_LAYERS = new Set(['query', 'expressInit']);

/**
 * Opens the request's task store before guards run, so `TasksService` works in guards,
 * interceptors, pipes, the handler and exception filters.
 *
 * On Express and Fastify it is mounted straight on the server (an Express layer / a Fastify
 * `onRequest` hook) rather than as Nest middleware: Nest middleware costs a path match per
 * request, and on Fastify it brings in `@fastify/middie`, which measured about a third of a
 * hello-world route's throughput. Other adapters get the Nest middleware on every route.
 */
@Injectable()
export class TasksMiddleware implements NestMiddleware<IncomingMessage, RawResponse> {
  use(_request: IncomingMessage, response: RawResponse, next: Next): void {
    requestStorage.run(new RequestTasks(response), next);
  }

  /** Mounts the store directly on a known HTTP server; returns false for other adapters. */
  mountOn(adapter: AbstractHttpAdapter | undefined): boolean {
    if (adapter === undefined) return false;
    const type = adapter.getType();
    if (type === 'express') {
      mountFirst(adapter.getInstance<ExpressApp>(), (request, response, next) => this.use(request, response, next));
      return true;
    }
    if (type === 'fastify') {
      const app = adapter.getInstance<{
        addHook(
          name: 'onRequest',
          hook: (request: { raw: IncomingMessage }, reply: { raw: RawResponse }, done: Next) => void,
        ): void;
      }>();
      app.addHook('onRequest', (request, reply, done) => this.use(request.raw, reply.raw, done));
      return true;
    }
    return false;
  }
}

/**
 * Adds the hook as the first Express layer. Nest registers its body parsers in `init()` before
 * modules are configured, and `main.ts` middleware comes earlier still: a store opened after them
 * would miss the error a parser answers (malformed JSON, payload too large) and those middleware.
 */
function mountFirst(app: ExpressApp, hook: Hook): void {
  Object.defineProperty(hook, 'name', { value: 'nestjsTasksRequestStore' });
  app.use(hook);
  const stack = (app._router ?? app.router)?.stack;
  const layer = Array.isArray(stack) ? stack.at(-1) : undefined;
  if (stack === undefined || layer?.name !== hook.name) return;
  stack.pop();
  let index = 0;
  while (index < stack.length && EXPRESS_INIT_LAYERS.has(stack[index].name)) index++;
  stack.splice(index, 0, layer);
}
