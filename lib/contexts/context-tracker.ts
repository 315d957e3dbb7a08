import { Injectable } from '@nestjs/common';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import { TRACKED, invokeTracked, wrapHandler, type Handler } from './handler-outcome.js';
import { RequestTasks, requestStorage, type AnswerMoment } from './request-tasks.js';

/**
 * The handler kinds of Nest's other execution contexts, told apart by the metadata their
 * decorators set. String keys, so that the optional packages (`@nestjs/graphql`,
 * `@nestjs/microservices`, `@nestjs/websockets`) are never loaded by this library.
 */
type Kind = 'resolver' | AnswerMoment;

function kindOf(method: object): Kind | undefined {
  const resolverType: unknown = Reflect.getMetadata('graphql:resolver_type', method);
  if (resolverType === 'Query' || resolverType === 'Mutation') return 'resolver';
  if (Reflect.getMetadata('graphql:resolve_property', method) === true) return 'resolver';
  const handlerType: unknown = Reflect.getMetadata('microservices:handler_type', method);
  if (handlerType === 1) return 'nextTick'; // @MessagePattern: its reply goes to the transport on the next tick
  if (handlerType === 2) return 'settled'; // @EventPattern: no reply
  if (Reflect.getMetadata('websockets:message_mapping', method) === true) return 'setImmediate';
  return undefined;
}

/**
 * Tracks the handlers of GraphQL resolvers, microservice controllers and WebSocket gateways, so
 * that afterRoute and afterResponse mean in them what they mean in HTTP routes. Each call runs
 * with its own scheduler: a GraphQL resolver's is a child of its HTTP request (a sibling's error
 * does not fail it; its answer is the request's response), a message's or event's is its own.
 *
 * It wraps the methods on the class prototype when the module is instantiated: every one of
 * these contexts captures `prototype[method]` (or reads it per call), some of them before
 * `configure()` or `onModuleInit()` run, and never through the HTTP route pipeline — so HTTP
 * routes pay nothing for it, and no interceptor is involved. GraphQL subscriptions are not
 * tracked: they have no single answer, and deferred tasks there throw at the call.
 */
@Injectable()
export class ContextTracker {
  constructor(modules: ModulesContainer, scanner: MetadataScanner) {
    for (const module of modules.values()) {
      for (const wrapper of [...module.providers.values(), ...module.controllers.values()]) {
        const type: unknown = wrapper.metatype;
        if (typeof type !== 'function' || wrapper.inject) continue;
        const prototype = (type as { prototype?: unknown }).prototype;
        if (prototype === null || typeof prototype !== 'object') continue;
        for (const name of scanner.getAllMethodNames(prototype)) track(prototype as Record<string, unknown>, name);
      }
    }
  }
}

function track(prototype: Record<string, unknown>, name: string): void {
  const handler = prototype[name] as Handler | undefined;
  if (typeof handler !== 'function' || handler[TRACKED] === true) return;
  const kind = kindOf(handler);
  if (kind === undefined) return;
  const around = kind === 'resolver' ? aroundResolver : aroundInvocation(kind);
  Object.defineProperty(prototype, name, { value: wrapHandler(handler, around), configurable: true, writable: true });
}

/** A resolver call within an HTTP request; without one (a subscription), untracked. */
function aroundResolver(handler: Handler, self: unknown, args: unknown[]): unknown {
  const request = requestStorage.getStore();
  if (!(request instanceof RequestTasks)) return handler.apply(self, args);
  return run(request.child(), handler, self, args);
}

/** A message, event or gateway call: its own scheduler, answered at `moment`. */
function aroundInvocation(moment: AnswerMoment) {
  return (handler: Handler, self: unknown, args: unknown[]): unknown =>
    run(new RequestTasks(undefined, moment), handler, self, args);
}

function run(scope: RequestTasks, handler: Handler, self: unknown, args: unknown[]): unknown {
  scope.handlerStarted();
  return requestStorage.run(scope, () => invokeTracked(scope, handler, self, args));
}
