/**
 * The per-request path without a server: what the HTTP rows measure above the noise of sockets
 * and a shared machine. Each simulated request makes a response (an EventEmitter with `closed`),
 * runs a handler in its async context, then closes the response, as a server does; the five
 * kinds alternate, best of five batches each.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { invokeTracked } from '../lib/contexts/handler-outcome.js';
import { RequestTasks, requestStorage, type RawResponse } from '../lib/contexts/request-tasks.js';
import type { TasksService } from '../lib/index.js';

export interface RequestMicroResults {
  /** ns per request: one `AsyncLocalStorage.run()` around the handler (the `alsFloor` row). */
  alsRunNs: number;
  /** ns per request: the library's request store and handler tracking, nothing scheduled (`unused`). */
  storeNs: number;
  /** ns per request: `res.once('close', () => void empty())`, no store (`handWrittenClose`). */
  handWrittenCloseNs: number;
  /** ns per request: the store, tracking and one afterResponse task, run to settled (`afterResponse`). */
  afterResponseNs: number;
  /** ns per request: the store, tracking and one task in each mode, run to settled (`perMode`). */
  perModeNs: number;
}

class SimulatedResponse extends EventEmitter {
  closed = false;
}

const HELLO = { hello: 'world' };
const empty = async (): Promise<void> => undefined;
const now = () => process.hrtime.bigint();
const floorStorage = new AsyncLocalStorage<object>();

type Kind = keyof RequestMicroResults;

/** One simulated request of each kind: its handler runs in the request's context, then the response closes. */
function requestOf(kind: Kind, tasks: TasksService): (response: SimulatedResponse) => void {
  const raw = (response: SimulatedResponse) => response as unknown as RawResponse;
  const tracked = (handler: () => unknown) => () => {
    const request = requestStorage.getStore() as RequestTasks;
    request.handlerStarted();
    invokeTracked(request, handler, undefined, []);
  };
  switch (kind) {
    case 'alsRunNs':
      return (response) => floorStorage.run({ response }, () => HELLO);
    case 'handWrittenCloseNs':
      return (response) => response.once('close', () => void empty());
    case 'storeNs': {
      const handler = tracked(() => HELLO);
      return (response) => requestStorage.run(new RequestTasks(raw(response)), handler);
    }
    case 'afterResponseNs': {
      const handler = tracked(() => {
        tasks.afterResponse.schedule(empty);
        return HELLO;
      });
      return (response) => requestStorage.run(new RequestTasks(raw(response)), handler);
    }
    case 'perModeNs': {
      const handler = tracked(() => {
        tasks.schedule(empty);
        tasks.afterRoute.schedule(empty);
        tasks.afterResponse.schedule(empty);
        return HELLO;
      });
      return (response) => requestStorage.run(new RequestTasks(raw(response)), handler);
    }
  }
}

/**
 * ns per request for `count` requests of one kind, until every task they scheduled has settled.
 * Each request runs as a server runs it: the handler in one turn, the response's `close` in a
 * later one, and the microtasks queued in a turn run before the next (the `await`s, the same in
 * every kind). Without them, every task of the whole batch would still wait for its microtask at
 * each `close`, as on no server, and thousands of requests' tasks would be alive at once.
 */
async function batch(count: number, request: (response: SimulatedResponse) => void, tasks: TasksService) {
  const started = now();
  for (let i = 0; i < count; i++) {
    const response = new SimulatedResponse();
    request(response);
    await null;
    response.closed = true;
    response.emit('close');
    await null;
  }
  await tasks.onIdle();
  await new Promise((resolve) => setImmediate(resolve)); // the hand-written tasks, untracked
  return Number(now() - started) / count;
}

export async function requestMicro(tasks: TasksService, count: number): Promise<RequestMicroResults> {
  const kinds: Kind[] = ['alsRunNs', 'storeNs', 'handWrittenCloseNs', 'afterResponseNs', 'perModeNs'];
  const requests = kinds.map((kind) => requestOf(kind, tasks));
  const best = kinds.map(() => Infinity);
  for (let round = 0; round < 6; round++) {
    for (const [index, request] of requests.entries()) {
      const ns = await batch(count, request, tasks);
      if (round > 0) best[index] = Math.min(best[index] as number, ns); // round 0 warms up
    }
  }
  const [alsRunNs, storeNs, handWrittenCloseNs, afterResponseNs, perModeNs] = best as [
    number,
    number,
    number,
    number,
    number,
  ];
  return { alsRunNs, storeNs, handWrittenCloseNs, afterResponseNs, perModeNs };
}
