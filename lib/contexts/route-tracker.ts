import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { TRACKED, invokeTracked, wrapHandler, type Handler } from './handler-outcome.js';
import { CONTEXT_LOST, requestStorage } from './request-tasks.js';

/** Nest's route metadata key (`@Get()` and friends set it on the handler function). */
const PATH_METADATA = 'path';

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
  Object.defineProperty(target, name, { value: wrapHandler(handler, aroundRoute), configurable: true, writable: true });
}

/** A route handler call: tracked on its request's scheduler, once per request. */
function aroundRoute(handler: Handler, self: unknown, args: unknown[]): unknown {
  const request = requestStorage.getStore();
  if (request === undefined) return requestStorage.run(CONTEXT_LOST, () => handler.apply(self, args));
  if (request === CONTEXT_LOST || !request.handlerStarted()) return handler.apply(self, args);
  return invokeTracked(request, handler, self, args);
}
