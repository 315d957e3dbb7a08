import { afterEach, describe, expect, it } from '@jest/globals';
import autocannon from 'autocannon';
import { adapters } from './app/harness.js';
import { startServer, type ServerProcess } from './process/child.js';

interface Heap {
  heapUsed: number;
  sampled: number;
  alive: number;
  gc: boolean;
}

const heap = async (url: string): Promise<Heap> => (await fetch(`${url}/heap`)).json() as Promise<Heap>;
const hit = (url: string, amount: number) => autocannon({ url: `${url}/mem`, connections: 20, amount, timeout: 10 });

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
});
