import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { ScheduledTask } from '../core/scheduled-task.js';
import { messages } from '../core/tasks.messages.js';

/** How far the route handler got, as the route tracker saw it. */
type HandlerState = 'notReached' | 'running' | 'completed' | 'failed';

/** The deferred timing modes, whose tasks wait for a point in the request's life. */
export type DeferredMode = 'afterRoute' | 'afterResponse';

/** The raw response of either HTTP version. */
export type RawResponse = ServerResponse | Http2ServerResponse;

/** The raw request of either HTTP version. */
export type RawRequest = IncomingMessage | Http2ServerRequest;

/**
 * When a handler's answer counts as sent: the HTTP response's `close` (controllers, and GraphQL
 * resolvers through their request), or a moment after the handler settled — at once (an event
 * has no reply), on the next tick (a microservice hands its reply to the transport there), or
 * on the next turn of the event loop (a gateway's reply is sent a few microtasks later).
 */
export type AnswerMoment = 'close' | 'settled' | 'nextTick' | 'setImmediate';

/**
 * One handler invocation's scheduler: an HTTP request (created by the request hook for every
 * request), one GraphQL resolver call (a child of its request), or one microservice message or
 * gateway message. Holds its afterRoute and afterResponse tasks until the handler completes and
 * its answer is sent; it does nothing until a deferred task is scheduled.
 *
 * A handler's failure is final only once the answer has been sent: until then a retrying
 * interceptor may call the handler again, and the invocation completes if that attempt does. The
 * tasks a failed attempt scheduled itself are settled with it (dropped unless `always`), so a
 * retried handler does not run its tasks twice.
 */
export class RequestTasks {
  /**
   * Whether Nest handles this request through something that will tell how it ends: a
   * controller route (its guards, pipes, interceptors and filters included), Nest middleware,
   * Nest's error and not-found handlers, or a tracked handler of another context. A request only
   * the server saw (a raw `app.get()` route, a GraphQL server outside its resolvers) is not.
   */
  tracked = false;
  private handler: HandlerState = 'notReached';
  private responded = false;
  /**
   * The request's response until it has closed and a later request let go of it (see
   * {@link letGoOfClosed}). This store is the async context of every resource made during the
   * request (a TTL timer, a pooled connection), which may outlive it: holding the response for
   * good would pin it, and through it the request and its body. (A `WeakRef` would do it too, but
   * costs about a microsecond per request on Node 24, more than the rest of the store.)
   */
  private target?: RawResponse;
  /** Held while listening for `close`. */
  private response?: RawResponse;
  /** A GraphQL resolver's request, whose response `close` is this invocation's answer too. */
  private parent?: RequestTasks;
  /** Child invocations waiting for this request's response to close. */
  private children?: RequestTasks[];
  private afterRoute?: ScheduledTask[];
  private afterResponse?: ScheduledTask[];
  /** How many tasks of each mode were queued when the current handler attempt started. */
  private routeMark = 0;
  private responseMark = 0;

  constructor(
    response?: RawResponse,
    private readonly answer: AnswerMoment = 'close',
  ) {
    if (response === undefined) this.tracked = true;
    else {
      this.target = response;
      letGoOfClosed(this);
    }
  }

  /** A scheduler for one handler called within this request (a GraphQL resolver). */
  child(): RequestTasks {
    const child = new RequestTasks();
    child.parent = this;
    return child;
  }

  /** Queues a deferred task, or releases it at once if its moment has passed. */
  add(mode: DeferredMode, task: ScheduledTask): void {
    if (this.isDue(mode)) {
      this.release(mode, task);
      return;
    }
    // A literal for the first task: push() onto an empty array would reserve room for 17.
    const queued = this[mode];
    if (queued === undefined) this[mode] = [task];
    else queued.push(task);
    this.listen();
  }

  /**
   * The handler was called. Returns false for a nested call (a handler calling another handler,
   * or an observable resubscribed after it completed), which must not settle the invocation.
   * After a failure it is tracked again: a retry, or a handler reached after the client left
   * while a guard ran.
   */
  handlerStarted(): boolean {
    if (this.handler === 'running' || this.handler === 'completed') return false;
    this.handler = 'running';
    this.tracked = true;
    this.routeMark = this.afterRoute?.length ?? 0;
    this.responseMark = this.afterResponse?.length ?? 0;
    return true;
  }

  /** The handler's result completed (`ok`) or failed. A completion is final; a failure waits for the answer. */
  handlerSettled(ok: boolean): void {
    if (this.handler === 'completed') return;
    this.handler = ok ? 'completed' : 'failed';
    if (this.answer !== 'close') this.answerAfterSettled();
    // Queued tasks mean listen() ran, so `responded` is current: no response lookup per request.
    if (this.afterRoute === undefined && this.afterResponse === undefined) return;
    // The library's own call once the handler is done, not a user's: tasks may start at once.
    if (ok) this.flush('afterRoute', true);
    else this.failAttempt();
    if (this.responded) this.responseClosed(true);
  }

  /**
   * The raw request, while its response is alive: for the testing kit's records (never called
   * by the library itself, so it costs nothing in production).
   */
  request(): RawRequest | undefined {
    return this.current()?.req;
  }

  /** Whether the client went away before the response was sent (the socket closed first). */
  clientLeft(): boolean {
    const response = this.current();
    return response === undefined || (isClosed(response) && !response.writableFinished);
  }

  private answerAfterSettled(): void {
    const answered = () => {
      if (this.responded) return;
      this.responded = true;
      this.responseClosed();
    };
    if (this.answer === 'settled') answered();
    else if (this.answer === 'nextTick') process.nextTick(answered);
    else setImmediate(answered);
  }

  private isDue(mode: DeferredMode): boolean {
    if (this.handler === 'completed') return mode === 'afterRoute' || this.hasResponded();
    return this.handler === 'failed' && this.hasResponded();
  }

  private current(): RawResponse | undefined {
    return this.response ?? this.target ?? this.parent?.current();
  }

  private hasResponded(): boolean {
    if (this.responded || this.answer !== 'close') return this.responded;
    if (this.parent !== undefined) return (this.responded = this.parent.hasResponded());
    const response = this.current();
    // A response that was collected had long closed: nothing else holds one in flight.
    return (this.responded = response === undefined || isClosed(response));
  }

  /** Drops the response if it has closed (nothing needs it then); returns whether it did. */
  letGoIfClosed(): boolean {
    const response = this.target;
    if (response !== undefined && !isClosed(response)) return false;
    this.target = undefined;
    return true;
  }

  private listen(): void {
    if (this.answer !== 'close' || this.response !== undefined) return;
    if (this.hasResponded()) {
      this.responseClosed();
      return;
    }
    if (this.parent !== undefined) {
      this.parent.await(this);
      return;
    }
    const response = this.current();
    if (response === undefined) return;
    this.response = response;
    // on() and off() rather than once(), which wraps the listener in a bound function and a state per request.
    const closed = () => {
      response.off('close', closed);
      this.response = undefined;
      this.responded = true;
      this.responseClosed(true);
      const children = this.children;
      this.children = undefined;
      if (children !== undefined) for (const child of children) child.parentClosed();
    };
    response.on('close', closed);
  }

  /** One close listener per request, however many of its resolvers wait for it. */
  private await(child: RequestTasks): void {
    if (this.children?.includes(child) === true) return;
    (this.children ??= []).push(child);
    this.listen();
  }

  private parentClosed(): void {
    this.responded = true;
    this.responseClosed(true);
  }

  /**
   * The answer was sent: the handler's outcome is now final, unless it is still running. `now`
   * when called from the response's `close` event or the handler's completion: its tasks may
   * start at once there, with no microtask between (see TaskStarts).
   */
  private responseClosed(now = false): void {
    // The handler was never reached (a guard or middleware answered): the request failed.
    if (this.handler === 'notReached') this.handler = 'failed';
    if (this.handler === 'running') return;
    this.flush('afterRoute', now);
    this.flush('afterResponse', now);
  }

  /**
   * Settles the tasks this failed attempt scheduled: its afterRoute tasks now (an `always` one
   * starts), its afterResponse ones dropped unless `always` (those still wait for the answer).
   * Tasks queued before the attempt wait for the invocation's final outcome.
   */
  private failAttempt(): void {
    for (const task of this.afterRoute?.splice(this.routeMark) ?? []) this.release('afterRoute', task);
    const queued = this.afterResponse ?? [];
    for (const task of queued.splice(this.responseMark)) {
      if (task.config.always === true) queued.push(task);
      else this.release('afterResponse', task);
    }
  }

  private flush(mode: DeferredMode, now = false): void {
    const tasks = this[mode];
    if (tasks === undefined) return;
    this[mode] = undefined;
    for (const task of tasks) this.release(mode, task, now);
  }

  private release(mode: DeferredMode, task: ScheduledTask, now = false): void {
    if (task.state !== 'pending') return;
    if (this.handler === 'completed' || task.config.always === true) task.runner.start(task, now);
    else task.runner.drop(task, messages.droppedFailedRequest(task.name, mode));
  }
}

/** The stores that still hold their response, oldest first from `heldFrom`; checked as requests come. */
const held: (RequestTasks | undefined)[] = [];
let heldFrom = 0;
/** How many held stores each new request checks: more than one, so that the list shrinks as requests end. */
const CHECKS_PER_REQUEST = 4;

/**
 * Holds a new request's store, and lets the oldest ones whose response has closed go of it: a
 * few checks per request, an open one (a stream, a long poll) moved to the back. A store is held
 * until a request after its response closed, so an idle server keeps the last few responses.
 */
function letGoOfClosed(tasks: RequestTasks): void {
  const checks = Math.min(CHECKS_PER_REQUEST, held.length - heldFrom);
  for (let checked = 0; checked < checks; checked++) {
    const oldest = held[heldFrom] as RequestTasks;
    held[heldFrom++] = undefined;
    if (!oldest.letGoIfClosed()) held.push(oldest);
  }
  held.push(tasks);
  if (heldFrom > 1024 && heldFrom * 2 > held.length) {
    held.splice(0, heldFrom);
    heldFrom = 0;
  }
}

/** HTTP/1 responses have `closed`; HTTP/2 compatibility responses only their stream's. */
function isClosed(response: RawResponse): boolean {
  return 'stream' in response ? response.stream.closed : response.closed;
}

/**
 * The store of a route handler that Nest called without its request's store: the async context
 * was lost on the way (a middleware calling `next()` from a pooled callback), or the handler was
 * called directly. Deferred scheduling there says so, instead of "outside an HTTP request".
 */
export const CONTEXT_LOST = Symbol('nestjs-tasks:context-lost');

/** The current request's scheduler, opened by the request hook before guards run (internal). */
export const requestStorage = new AsyncLocalStorage<RequestTasks | typeof CONTEXT_LOST>();
