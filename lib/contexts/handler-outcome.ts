import { isObservable, Observable } from 'rxjs';
import type { RequestTasks } from './request-tasks.js';

/** Marks a function the library has wrapped, so that it is never wrapped twice. */
export const TRACKED = Symbol('nestjs-tasks:tracked-handler');

/** A handler Nest calls, possibly already wrapped. */
export type Handler = ((...args: unknown[]) => unknown) & { [TRACKED]?: true };

/**
 * Wraps a handler so that `around` decides how each call is tracked. Metadata reads
 * (reflect-metadata walks the prototype chain) see through the wrapper to the handler,
 * including metadata defined after start-up: `context.getHandler()` may be the wrapper.
 */
export function wrapHandler(
  handler: Handler,
  around: (handler: Handler, self: unknown, args: unknown[]) => unknown,
): Handler {
  const tracked: Handler = function (this: unknown, ...args: unknown[]) {
    return around(handler, this, args);
  };
  Object.setPrototypeOf(tracked, handler);
  Object.defineProperty(tracked, 'name', { value: handler.name });
  Object.defineProperty(tracked, 'length', { value: handler.length });
  tracked[TRACKED] = true;
  return tracked;
}

/** Calls a handler whose start `scope` has recorded, and settles `scope` with its outcome. */
export function invokeTracked(scope: RequestTasks, handler: Handler, self: unknown, args: unknown[]): unknown {
  let result: unknown;
  try {
    result = handler.apply(self, args);
  } catch (error) {
    scope.handlerSettled(false);
    throw error;
  }
  return settleWith(scope, result);
}

/**
 * Passes the handler's result through, settling the request when it is complete. Nest awaits
 * any thenable (a PrismaPromise, a mongoose Query, a knex builder), so the tracker does too:
 * `then` is called once, here, and Nest awaits the native promise returned in its place.
 */
export function settleWith(request: RequestTasks, result: unknown): unknown {
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
