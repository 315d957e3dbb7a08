/**
 * `npm run bench -- --instructions [--node PATH] [--requests N]`: the instructions a server
 * executes per request, counted by valgrind's callgrind, for the variants and references on
 * both adapters. Counts do not depend on what else the machine runs; they do depend on when V8
 * collects garbage: one major collection more in one of the two runs shifts a row by 10,000 to
 * 30,000 instructions per request at the default sizes, so the counted window must be long enough
 * to amortise them before rows a few thousand instructions apart can be told apart.
 *
 * Each variant's server runs twice under callgrind (`node --single-threaded`, so that V8 compiles
 * and collects garbage on the counted thread): once serving `warmup` requests, once `warmup +
 * requests`; the difference over `requests` is the steady-state cost of one request, start-up
 * and warm-up cancelled out. Requests are serial, 4 at a time on keep-alive connections, from
 * this process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADAPTERS, type Adapter, type Variant } from './variants.js';

/** The rows counted: enough to place the library against its references. */
export const COUNTED: readonly Variant[] = [
  'bare',
  'alsFloor',
  'unused',
  'handWrittenClose',
  'afterResponse',
  'perMode',
];

export interface InstructionRow {
  adapter: Adapter;
  variant: Variant;
  /** The server's `process.version`. */
  node: string;
  /** Instructions per request, steady state. */
  perRequest: number;
  /** perRequest minus bare's on the same adapter. */
  added: number;
}

export interface InstructionOptions {
  node: string;
  warmup: number;
  requests: number;
}

/** Fails at once, naming the fix, when valgrind is missing. */
function requireValgrind(): void {
  const probe = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error('--instructions needs valgrind: `apt-get install valgrind` (Debian), then run the bench again.');
  }
}

/** Total instructions of one server run serving `count` requests under callgrind. */
async function countRun(options: InstructionOptions, adapter: Adapter, variant: Variant, count: number) {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-tasks-callgrind-'));
  const out = join(dir, 'callgrind.out');
  const server = fileURLToPath(new URL('./server-main.js', import.meta.url));
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${out}`, options.node, '--single-threaded', server, adapter, variant],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  try {
    const [url, node] = await new Promise<[string, string]>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /READY (\S+) (\S+)\n/.exec(output);
        if (match !== null) resolve([match[1] as string, match[2] as string]);
      });
      child.once('exit', (code) => reject(new Error(`server under valgrind exited with ${code} before it was ready`)));
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const get = () =>
      new Promise<void>((resolve, reject) => {
        http
          .get(url, { agent }, (response) => {
            response.resume();
            response.on('end', resolve);
          })
          .on('error', reject);
      });
    for (let sent = 0; sent < count; sent += 4) await Promise.all([get(), get(), get(), get()]);
    agent.destroy();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end(); // the server closes and exits
    await exited;
    const summary = /^summary: (\d+)$/m.exec(readFileSync(out, 'utf8'));
    if (summary === null) throw new Error(`no instruction count for ${adapter} ${variant}`);
    return { total: Number(summary[1]), node };
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Steady-state instructions per request of one variant: two counted runs, side by side. */
async function perRequest(options: InstructionOptions, adapter: Adapter, variant: Variant) {
  const [short, long] = await Promise.all([
    countRun(options, adapter, variant, options.warmup),
    countRun(options, adapter, variant, options.warmup + options.requests),
  ]);
  return { perRequest: (long.total - short.total) / options.requests, node: long.node };
}

export async function runInstructions(
  options: InstructionOptions,
  progress: (line: string) => void,
): Promise<InstructionRow[]> {
  requireValgrind();
  const rows: InstructionRow[] = [];
  for (const adapter of ADAPTERS) {
    let bare = NaN;
    for (const variant of COUNTED) {
      const counted = await perRequest(options, adapter, variant);
      if (variant === 'bare') bare = counted.perRequest;
      rows.push({
        adapter,
        variant,
        node: counted.node,
        perRequest: counted.perRequest,
        added: counted.perRequest - bare,
      });
      progress(`${adapter} ${variant} (${counted.node}): ${Math.round(counted.perRequest)} instructions/request`);
    }
  }
  return rows;
}

export function instructionsTable(rows: InstructionRow[]): string[] {
  const thousands = (value: number) => (value / 1000).toFixed(1);
  return [
    '| adapter | variant | Node | instructions/request (thousands) | added over bare (thousands) |',
    '|---|---|---|---:|---:|',
    ...rows.map(
      (row) =>
        `| ${row.adapter} | ${row.variant} | ${row.node} | ${thousands(row.perRequest)} | ${thousands(row.added)} |`,
    ),
  ];
}
