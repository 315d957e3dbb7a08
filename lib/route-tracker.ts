import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { isObservable, Observable } from 'rxjs';
import { requestStorage, type RequestTasks } from './request-tasks.js';

/** Nest's route metadata key (`@Get()` and friends set it on the handler function). */
const PATH_METADATA = 'path';
const TRACKED = Symbol('nestjs-tasks:tracked-route');

type Handler = ((...args: unknown[]) => unknown) & { [TRACKED]?: true };

/**
 * Tells each request's scheduler how its route handler ended: it returned (or its promise
 * resolved, or its observable completed), or it threw (or rejected, or errored). A handler that
 * is never called — a guard, pipe or interceptor rejected first — leaves the request failed.
 *
 * It wraps route handlers instead of using a global interceptor: any interceptor makes Nest run
 * every route through its RxJS pipeline, which measured 40 % of a Fastify hello-world route's
 * throughput and 18 % of an Express one. Nest calls `instance[method]` and reads route metadata
 * from the prototype, so singleton controllers get an own-property wrapper and their classes are
 * left untouched; request-scoped controllers (one instance per request) have the prototype
 * method wrapped, once.
 */
@Injectable()
export class RouteTracker {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  /** Must run before Nest registers its routes (TasksModule calls it from `configure()`). */
  trackAll(): void {
    for (const wrapper of this.discovery.getControllers()) {
      const instance: unknown = wrapper.instance;
      if (instance === null || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      const target = wrapper.isDependencyTreeStatic() ? (instance as Record<string, unknown>) : prototype;
      for (const name of this.scanner.getAllMethodNames(prototype)) track(target, prototype, name);
    }
  }
}

function track(target: Record<string, unknown>, prototype: Record<string, unknown>, name: string): void {
  const handler = target[name] as Handler | undefined;
  if (typeof handler !== 'function' || handler[TRACKED] === true) return;
  if (Reflect.getMetadata(PATH_METADATA, prototype[name] as object) === undefined) return;
  Object.defineProperty(target, name, { value: trackedHandler(handler), configurable: true, writable: true });
}

function trackedHandler(handler: Handler): Handler {
  const tracked: Handler = function (this: unknown, ...args: unknown[]) {
    const request = requestStorage.getStore();
    if (request === undefined || !request.handlerStarted()) return handler.apply(this, args);
    let result: unknown;
    try {
      result = handler.apply(this, args);
    } catch (error) {
      request.handlerSettled(false);
      throw error;
    }
    return settleWith(request, result);
  };
  // Metadata reads (reflect-metadata walks the prototype chain) see through the wrapper to the
  // handler, including metadata defined after start-up: `context.getHandler()` is the wrapper.
  Object.setPrototypeOf(tracked, handler);
  Object.defineProperty(tracked, 'name', { value: handler.name });
  tracked[TRACKED] = true;
  return tracked;
}

/**
 * Passes the handler's result through, settling the request when it is complete. Nest awaits
 * any thenable (a PrismaPromise, a mongoose Query, a knex builder), so the tracker does too:
 * `then` is called once, here, and Nest awaits the native promise returned in its place.
 */
function settleWith(request: RequestTasks, result: unknown): unknown {
  if (result instanceof Promise || isThenable(result)) {
    return Promise.resolve(result).then(
      (value: unknown) => settleWith(request, value),
      (error: unknown) => {
        request.handlerSettled(false);
        throw error;
      },
    );
  }
  if (isObservable(result)) return observed(request, result);
  request.handlerSettled(true);
  return result;
}

/** An observable result (`@Sse`, RxJS handlers) completes, errors, or is left by the client. */
function observed(request: RequestTasks, source: Observable<unknown>): Observable<unknown> {
  return new Observable((subscriber) => {
    let ended = false;
    const subscription = source.subscribe({
      next: (value) => subscriber.next(value),
      error: (error: unknown) => {
        ended = true;
        request.handlerSettled(false);
        subscriber.error(error);
      },
      complete: () => {
        ended = true;
        request.handlerSettled(true);
        subscriber.complete();
      },
    });
    return () => {
      subscription.unsubscribe();
      // Unsubscribed without complete or error: a stream the client left counts as completed;
      // one cut short by an operator (a `timeout()` interceptor answering 408) did not complete.
      if (!ended) request.handlerSettled(request.clientLeft());
    };
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
