import { afterEach, describe, expect, it } from '@jest/globals';
import autocannon from 'autocannon';
import { adapters } from './app/harness.js';
import { startServer, type ServerProcess } from './process/child.js';

interface Heap {
  heapUsed: number;
  sampled: number;
  alive: number;
  gc: boolean;
  timers: number;
  timer: { sampled: number; alive: number };
  failed: { sampled: number; alive: number };
}

const heap = async (url: string): Promise<Heap> => (await fetch(`${url}/heap`)).json() as Promise<Heap>;
const hit = (url: string, amount: number, path = '/mem') =>
  autocannon({ url: `${url}${path}`, connections: 20, amount, timeout: 10 });

describe.each(adapters)('memory after 50,000 requests, real process, on %s', (adapter) => {
  let server: ServerProcess | undefined;
  afterEach(() => {
    server?.child.kill('SIGKILL');
  });

  it('returns the heap to within 10 MB and keeps no request or response reachable', async () => {
    server = await startServer({ ADAPTER: adapter }, ['--expose-gc']);
    await hit(server.url, 2000);
    const before = await heap(server.url);
    const result = await hit(server.url, 50_000);
    expect(result.errors + result.timeouts + result.non2xx).toBe(0);
    const after = await heap(server.url);
    const growthMb = (after.heapUsed - before.heapUsed) / 2 ** 20;
    process.stdout.write(`memory ${adapter}: heap growth ${growthMb.toFixed(2)} MB over 50,000 requests\n`);
    expect(after.gc).toBe(true);
    expect(after.sampled).toBe(52);
    expect(after.alive).toBe(0);
    expect(growthMb).toBeLessThan(10);
  }, 120_000);

  it('keeps no response reachable from a long-lived timer made in its request, on a completed or a failed request', async () => {
    server = await startServer({ ADAPTER: adapter }, ['--expose-gc']);
    const withTimers = await hit(server.url, 2000, '/mem-timer');
    expect(withTimers.errors + withTimers.timeouts + withTimers.non2xx).toBe(0);
    const failing = await hit(server.url, 2000, '/mem-failed');
    expect(failing.errors + failing.timeouts).toBe(0);
    expect(failing['5xx']).toBe(2000);
    const after = await heap(server.url);
    expect(after.gc).toBe(true);
    // The 4,000 timers are still pending, each holding its request's async context.
    expect(after.timers).toBe(4000);
    expect({ completed: after.timer, failed: after.failed }).toEqual({
      completed: { sampled: 20, alive: 0 },
      failed: { sampled: 20, alive: 0 },
    });
    await fetch(`${server.url}/timers/clear`);
  }, 120_000);
});
