import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import type { ScheduledTask } from './scheduled-task.js';
import type { TaskRunner } from './task-runner.js';
import { messages } from './tasks.messages.js';

/** How far the route handler got, as the route tracker saw it. */
type HandlerState = 'notReached' | 'running' | 'completed' | 'failed';

/** The deferred timing modes, whose tasks wait for a point in the request's life. */
export type DeferredMode = 'afterRoute' | 'afterResponse';

/**
 * One request's scheduler: holds its afterRoute and afterResponse tasks until the handler
 * completes and the response closes. Created by the request hook for every request, so it does
 * nothing until a deferred task is scheduled (it then listens for the response's `close`).
 */
export class RequestTasks {
  private handler: HandlerState = 'notReached';
  private responded = false;
  private listening = false;
  private afterRoute?: ScheduledTask[];
  private afterResponse?: ScheduledTask[];

  constructor(
    private readonly response: ServerResponse,
    private readonly runner: TaskRunner,
  ) {}

  /** Queues a deferred task, or releases it at once if its moment has passed. */
  add(mode: DeferredMode, task: ScheduledTask): void {
    if (this.isDue(mode)) {
      this.release(mode, task);
      return;
    }
    (this[mode] ??= []).push(task);
    this.listen();
  }

  /**
   * The route handler was called. Returns false for a nested call (a handler calling another
   * route handler), which must not settle the request. A close that came first (the client left
   * while a guard ran) does not stop the handler from being tracked.
   */
  handlerStarted(): boolean {
    if (this.handler === 'running' || this.handler === 'completed') return false;
    if (this.handler === 'failed' && !this.responded) return false;
    this.handler = 'running';
    return true;
  }

  /** The handler's observable completed (`ok`) or errored; the first call wins. */
  handlerSettled(ok: boolean): void {
    if (this.handler === 'completed' || this.handler === 'failed') return;
    this.handler = ok ? 'completed' : 'failed';
    this.flush('afterRoute');
    if (this.responded) this.flush('afterResponse');
  }

  private isDue(mode: DeferredMode): boolean {
    const handled = this.handler === 'completed' || this.handler === 'failed';
    return mode === 'afterRoute' ? handled : handled && this.hasResponded();
  }

  private hasResponded(): boolean {
    return this.responded || (this.responded = this.response.closed === true);
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    if (this.hasResponded()) this.responseClosed();
    else this.response.once('close', () => this.responseClosed());
  }

  private responseClosed(): void {
    this.responded = true;
    // The handler was never reached (a guard or middleware answered): the request failed.
    if (this.handler === 'notReached') this.handlerSettled(false);
    else if (this.handler !== 'running') this.flush('afterResponse');
  }

  private flush(mode: DeferredMode): void {
    const tasks = this[mode];
    this[mode] = undefined;
    for (const task of tasks ?? []) this.release(mode, task);
  }

  private release(mode: DeferredMode, task: ScheduledTask): void {
    if (task.state !== 'pending') return;
    if (this.handler === 'completed' || task.config.always === true) this.runner.start(task);
    else this.runner.drop(task, messages.droppedFailedRequest(task.name, mode));
  }
}

/** The current request's scheduler, opened by the request hook before guards run (internal). */
export const requestStorage = new AsyncLocalStorage<RequestTasks>();
