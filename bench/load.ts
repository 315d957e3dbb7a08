import autocannon from 'autocannon';

/** One load run's figures. */
export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  /** Requests that failed or did not answer 2xx: a valid run has none. */
  bad: number;
  /** Requests sent in the run. */
  requests: number;
  /** Server CPU µs per request, when the server runs in its own process (else NaN). */
  cpuUs: number;
}

export interface LoadOptions {
  connections: number;
  /** Seconds; used when `amount` is not set. */
  duration: number;
  /** A fixed number of requests instead of a duration (smoke runs). */
  amount?: number;
}

/** Drives `url` with autocannon on loopback, bounded by duration or amount. */
export async function load(url: string, options: LoadOptions): Promise<LoadResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+/.test(url)) throw new Error(`refusing to load a non-loopback URL: ${url}`);
  const result = await autocannon({
    url,
    connections: options.connections,
    ...(options.amount === undefined ? { duration: options.duration } : { amount: options.amount }),
    timeout: 10,
  });
  const seconds = Math.max(result.duration, 1e-3);
  return {
    rps: result.requests.total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    bad: result.errors + result.timeouts + result.non2xx,
    requests: result.requests.total,
    cpuUs: NaN,
  };
}
