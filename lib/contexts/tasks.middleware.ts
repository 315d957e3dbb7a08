import { Injectable, Optional, type NestMiddleware } from '@nestjs/common';
import { HttpAdapterHost, type AbstractHttpAdapter } from '@nestjs/core';
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
 * hello-world route's throughput. Other adapters are refused at start-up (see TasksModule).
 */
@Injectable()
export class TasksMiddleware implements NestMiddleware<IncomingMessage, RawResponse> {
  constructor(@Optional() adapterHost?: HttpAdapterHost) {
    if (adapterHost !== undefined) markWhenSet(adapterHost);
  }

  use(_request: IncomingMessage, response: RawResponse, next: Next): void {
    requestStorage.run(new RequestTasks(response), next);
  }

  /** Mounts the store directly on a known HTTP server; returns false for other adapters. */
  mountOn(adapter: AbstractHttpAdapter): boolean {
    const type = adapter.getType();
    if (type === 'express') {
      mountFirst(adapter.getInstance<ExpressApp>(), (request, response, next) => this.use(request, response, next));
      return true;
    }
    if (type === 'fastify') {
      hookFirst(adapter.getInstance<FastifyApp>(), (request, reply, done) => this.use(request.raw, reply.raw, done));
      return true;
    }
    return false;
  }
}

type FastifyHook = (request: { raw: IncomingMessage }, reply: { raw: RawResponse }, done: Next) => void;
interface FastifyApp {
  addHook(name: 'onRequest', hook: FastifyHook): void;
  after(callback: () => void): void;
}

/**
 * Adds the hook as Fastify's first `onRequest` hook. Nest registers `@fastify/middie` (which runs
 * Nest middleware and `main.ts` `app.use()` middleware in its own `onRequest` hook) in `init()`,
 * before modules are configured: a hook added after it would open the store too late for them.
 * Fastify adds hooks in its plugin queue, so the hook is moved to the front from that queue too,
 * before Nest registers the routes, which copy the list.
 */
function hookFirst(app: FastifyApp, hook: FastifyHook): void {
  app.addHook('onRequest', hook);
  app.after(() => {
    const key = Object.getOwnPropertySymbols(app).find((symbol) => symbol.description === 'fastify.hooks');
    const hooks = key === undefined ? undefined : (app as unknown as Record<symbol, { onRequest?: unknown }>)[key];
    const list = hooks?.onRequest;
    if (!Array.isArray(list) || list.at(-1) !== hook) return;
    list.pop();
    list.unshift(hook);
  });
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

/** The adapter methods through which Nest registers what handles a request (routes, middleware, errors). */
const REGISTRATIONS = [
  'get',
  'post',
  'put',
  'delete',
  'patch',
  'options',
  'head',
  'all',
  'search',
  'propfind',
  'proppatch',
  'mkcol',
  'copy',
  'move',
  'lock',
  'unlock',
  'use',
  'setErrorHandler',
  'setNotFoundHandler',
];

type Registration = (...args: unknown[]) => unknown;

const marked = new WeakSet<object>();

/**
 * Marks the adapter's registrations as soon as the app has an adapter: `NestFactory.create()`
 * sets it before modules are built, a testing module's `createNestApplication()` after — both
 * before `main.ts` can call `app.use()`, whose middleware must be marked too.
 */
function markWhenSet(host: HttpAdapterHost): void {
  const current = host.httpAdapter as AbstractHttpAdapter | null | undefined;
  if (current != null) {
    markNestHandlers(current);
    return;
  }
  const property = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(host), 'httpAdapter');
  if (property?.get === undefined || property.set === undefined) return;
  const { get, set } = property;
  Object.defineProperty(host, 'httpAdapter', {
    configurable: true,
    get,
    set(this: HttpAdapterHost, adapter: AbstractHttpAdapter) {
      set.call(this, adapter);
      if (adapter != null) markNestHandlers(adapter);
    },
  });
}

/**
 * Marks every request that reaches something Nest registered on the server — a controller
 * route, Nest or `main.ts` middleware, Nest's error and not-found handlers — as tracked: Nest
 * will tell how it ends. A request only a raw server route saw is not, and deferred scheduling
 * there throws instead of queuing a task the library could not place. Runs before Nest
 * registers its routes and middleware; costs one store lookup per request.
 */
function markNestHandlers(adapter: AbstractHttpAdapter): void {
  if (typeof adapter !== 'object' || marked.has(adapter)) return;
  marked.add(adapter);
  const target = adapter as unknown as Record<string, unknown>;
  for (const name of REGISTRATIONS) {
    const register = target[name];
    if (typeof register !== 'function') continue;
    target[name] = function (this: unknown, ...args: unknown[]) {
      return (register as Registration).apply(this, args.map(marking));
    };
  }
  const factory = target.createMiddlewareFactory;
  if (typeof factory !== 'function') return;
  target.createMiddlewareFactory = function (this: unknown, ...args: unknown[]) {
    const made = (factory as Registration).apply(this, args);
    const wrap = (register: unknown) =>
      typeof register === 'function'
        ? (...registerArgs: unknown[]) => (register as Registration)(...registerArgs.map(marking))
        : register;
    return made instanceof Promise ? made.then(wrap) : wrap(made);
  };
}

/** A handler that marks its request tracked first; keeps the arity Express reads off error handlers. */
function marking(value: unknown): unknown {
  if (typeof value !== 'function') return value;
  const handler = value as Registration;
  const marked = function (this: unknown, ...args: unknown[]) {
    const request = requestStorage.getStore();
    if (request instanceof RequestTasks) request.tracked = true;
    return handler.apply(this, args);
  };
  Object.defineProperty(marked, 'length', { value: handler.length });
  return marked;
}
