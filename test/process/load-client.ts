import { Agent, request } from 'node:http';

export interface LoadOutcome {
  /** ids whose request got a 2xx answer. */
  ok: string[];
  /** how many requests failed or got another status (refused during shutdown, for example). */
  failed: number;
}

/**
 * Sends `total` GET requests to `${url}/order/<id>` over keep-alive connections, `concurrency`
 * at a time, on loopback only; ids are `<idPrefix><n>`. `onProgress` sees the count of finished
 * requests. Bounded: every request has a 5 s timeout, and the loop stops after `total`.
 */
export async function loadOrders(
  url: string,
  total: number,
  concurrency: number,
  onProgress: (finished: number) => void,
  idPrefix = 'r',
): Promise<LoadOutcome> {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`refusing to load a non-loopback URL: ${url}`);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const outcome: LoadOutcome = { ok: [], failed: 0 };
  let next = 0;
  let finished = 0;
  const one = (id: string) =>
    new Promise<boolean>((resolve) => {
      const req = request(`${url}/order/${id}`, { agent, timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
        res.on('error', () => resolve(false));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  const worker = async () => {
    while (next < total) {
      const id = `${idPrefix}${next++}`;
      if (await one(id)) outcome.ok.push(id);
      else outcome.failed++;
      onProgress(++finished);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return outcome;
}
