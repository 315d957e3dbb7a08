import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { messages } from '../lib/core/tasks.messages.js';
import { adapters } from './app/harness.js';
import { startServer, type ServerProcess } from './process/child.js';
import { loadOrders } from './process/load-client.js';

const SHUTDOWN_TIMEOUT = 3000;
const REQUESTS = 2000;
const CONCURRENCY = 50;

/** How many times each recorded line appears. */
function countLines(file: string): Map<string, number> {
  const counts = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // nothing recorded
  }
  for (const line of text.split('\n').filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

/** The shielded records (immediate and afterResponse) missing for requests answered 2xx. */
const missing = (ok: string[], counts: Map<string, number>) =>
  ok.flatMap((id) => [`imm:${id}`, `ar:${id}`]).filter((line) => !counts.has(line));

describe.each(adapters)('SIGTERM under load, real process, on %s', (adapter) => {
  let dir: string;
  let server: ServerProcess | undefined;
  afterEach(() => {
    server?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([300, 1000, 1700])(
    'loses and doubles no shielded task when SIGTERM lands after %i responses',
    async (sigtermAfter) => {
      dir = mkdtempSync(join(tmpdir(), 'nestjs-tasks-'));
      const file = join(dir, 'records.log');
      server = await startServer({ ADAPTER: adapter, RECORD_FILE: file, SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT) });
      let sigtermAt = 0;
      const outcome = await loadOrders(server.url, REQUESTS, CONCURRENCY, (finished) => {
        if (finished === sigtermAfter) {
          sigtermAt = Date.now();
          server!.child.kill('SIGTERM');
        }
      });
      const exitMs = await server.exited(sigtermAt, SHUTDOWN_TIMEOUT + 5000);
      const counts = countLines(file);

      const doubled = [...counts].filter(([, count]) => count > 1);
      const aborted = [...counts.keys()].filter((line) => line.startsWith('aborted:')).length;
      process.stdout.write(
        `sigterm ${adapter} after ${sigtermAfter}: ${outcome.ok.length} answered 2xx, ${outcome.failed} refused, ` +
          `${outcome.ok.length * 2} shielded records expected, ${missing(outcome.ok, counts).length} lost, ` +
          `${doubled.length} doubled, ${aborted} unshielded aborted, exit ${exitMs} ms after SIGTERM\n`,
      );
      expect(outcome.ok.length).toBeGreaterThanOrEqual(sigtermAfter);
      expect(missing(outcome.ok, counts)).toEqual([]);
      expect(doubled).toEqual([]);
      expect(aborted).toBeGreaterThan(0);
      expect(exitMs).toBeLessThanOrEqual(SHUTDOWN_TIMEOUT + 1000);
    },
    60_000,
  );

  it('names a shielded task that never settles, and exits within shutdownTimeout + 1 s', async () => {
    dir = mkdtempSync(join(tmpdir(), 'nestjs-tasks-'));
    server = await startServer({ ADAPTER: adapter, SHUTDOWN_TIMEOUT: '1000' });
    const response = await fetch(`${server.url}/stuck`, { headers: { connection: 'close' } });
    expect(response.status).toBe(200);
    const sigtermAt = Date.now();
    server.child.kill('SIGTERM');
    const exitMs = await server.exited(sigtermAt, 7000);
    expect(exitMs).toBeLessThanOrEqual(2000);
    expect(server.output()).toContain(messages.shutdownDeadline(1000, ['stuck_task']));
  }, 30_000);
});
