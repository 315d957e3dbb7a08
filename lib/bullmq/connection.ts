import type { ConnectionOptions } from 'bullmq';

type RetryStrategy = (times: number) => number | null | undefined;

/**
 * The wait before reconnect attempt `times` when the options name no `retryStrategy`: 100 ms,
 * doubling up to 2 s. BullMQ's own grows to 20 s, so a worker could sit idle for that long after
 * Redis came back.
 */
function reconnectDelay(times: number): number {
  return Math.min(2 ** times * 50, 2000);
}

/**
 * The worker's connection: given options, it reconnects within 2 s of Redis coming back
 * ({@link reconnectDelay}) unless they name a `retryStrategy`, and stops reconnecting once the
 * worker closes. A client instance is used as given.
 */
export function workerConnection(connection: ConnectionOptions, closing: () => boolean): ConnectionOptions {
  if (isClient(connection)) return connection;
  const given = (connection as { retryStrategy?: RetryStrategy }).retryStrategy;
  return {
    ...connection,
    // Once closed, stop reconnecting: a client that lost Redis would otherwise keep a reconnect
    // timer (and the process) alive after close() gave up on quitting it.
    retryStrategy: (times: number) => (closing() ? null : (given ?? reconnectDelay)(times)),
  } as ConnectionOptions;
}

/**
 * The producer's connection: the worker's ({@link workerConnection}), and commands fail at once
 * while Redis is unreachable (instead of waiting in ioredis' offline queue for minutes), so the
 * hand-off can retry and then report. A client instance is used as given.
 */
export function producerConnection(connection: ConnectionOptions, closing: () => boolean): ConnectionOptions {
  if (isClient(connection)) return connection;
  return {
    ...workerConnection(connection, closing),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  } as ConnectionOptions;
}

function isClient(connection: ConnectionOptions): boolean {
  return typeof (connection as { sendCommand?: unknown }).sendCommand === 'function';
}

/** Listens to a queue's or worker's `error` events (without a listener, Node would throw them). */
export function connectionErrors(
  emitter: { on(event: 'error', listener: (error: Error) => void): unknown },
  report: (error: Error) => void,
): void {
  let last: string | undefined;
  emitter.on('error', (error) => {
    // ioredis repeats the same error on every reconnect attempt: report each change once.
    if (error.message === last) return;
    last = error.message;
    report(error);
  });
}
