import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { load, type LoadOptions, type LoadResult } from './load.js';
import { runMicro, type MicroResults } from './micro.js';
import { ADAPTERS, REFERENCES, VARIANTS, startVariant, type Adapter, type Variant } from './variants.js';

export interface BenchOptions extends LoadOptions {
  rounds: number;
  /** Warm-up requests before each measured run. */
  warmup: number;
  /** Run servers in this process (smoke runs under Jest) instead of one child process each. */
  inProcess: boolean;
  /** Scale of the micro-benchmarks (1 = 100,000 tasks). */
  microScale: number;
  /** Node binary for the server processes (default: this one); the load client stays on this Node. */
  node?: string;
}

export interface BenchRow {
  adapter: Adapter;
  variant: Variant;
  /** The server's `process.version`. */
  node: string;
  /** Requests per second, median over rounds. */
  rps: number;
  /** [min, max] of req/s over rounds. */
  spread: [number, number];
  p50: number;
  p99: number;
  ratio: number;
  /** Server CPU time per request (µs), median over rounds: the primary figure. */
  cpuUs: number;
  /** [min, max] of server CPU µs per request over rounds. */
  cpuSpread: [number, number];
  /**
   * Server CPU µs per request added over bare NestJS on the same adapter: the median over rounds
   * of this row's cpuUs minus bare's from the same round (0 for bare itself).
   */
  addedUs: number;
}

/** Where the servers and the load client ran: one core each, or unpinned (`null`). */
export type Pinning = { server: number; load: number } | null;

export interface BenchReport {
  results: BenchRow[];
  /** Reference points from the same rounds (see REFERENCES), ratios to bare likewise. */
  reference: BenchRow[];
  micro: MicroResults;
  runs: { round: number; adapter: Adapter; variant: Variant; node: string; result: LoadResult }[];
  options: BenchOptions;
  pinning: Pinning;
}

interface Server {
  url: string;
  /** The server's `process.version`. */
  node: string;
  /** The server's CPU time so far in µs (NaN when it shares this process). */
  cpu(): Promise<number>;
  close(): Promise<void>;
}

async function startInProcess(adapter: Adapter, variant: Variant): Promise<Server> {
  const { url, app } = await startVariant(adapter, variant);
  return { url, node: process.version, cpu: () => Promise.resolve(NaN), close: () => app.close() };
}

/** Expands a CPU list such as `0-3,6` into core numbers. */
const cores = (list: string) =>
  list.split(',').flatMap((part) => {
    const [from, to = from] = part.trim().split('-').map(Number) as [number, number?];
    return Array.from({ length: (to ?? from) - from + 1 }, (_, index) => from + index);
  });

/**
 * Pins this process (the load client, every thread) to one core with `taskset`, leaving another
 * for the servers; returns the cores and a function that restores the old affinity. Without
 * `taskset` or a second core: one warning line on stderr and no pinning.
 */
export function pinLoadClient(): { pinning: Pinning; restore(): void } {
  const unpinned = (why: string) => {
    process.stderr.write(`warning: ${why}; servers and load client run unpinned, figures are noisier\n`);
    return { pinning: null, restore: () => undefined };
  };
  const query = spawnSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' });
  if (query.error !== undefined || query.status !== 0) return unpinned('taskset (util-linux) not available');
  const list = /list:\s*(\S+)/.exec(query.stdout)?.[1];
  const allowed = list === undefined ? [] : cores(list);
  const [server, load] = allowed;
  if (list === undefined || server === undefined || load === undefined) {
    return unpinned(`fewer than 2 cores available (${list ?? 'unknown'})`);
  }
  const set = (cpus: string) => {
    const result = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`taskset -a -p -c ${cpus} failed: ${result.stderr}`);
  };
  set(String(load));
  return { pinning: { server, load }, restore: () => set(list) };
}

/** A bench child process: what its `READY` line said, its CPU clock, and how to stop it. */
export interface Child {
  /** The words after `READY` on the child's first line. */
  ready: string[];
  /** The child's CPU time so far in µs. */
  cpu(): Promise<number>;
  /** Closes the child's stdin (it closes its app and exits) and awaits its exit. */
  close(): Promise<void>;
}

/**
 * Starts `node entry ...args` (pinned to `core` when given) and resolves once it prints
 * `READY ...`; it answers `CPU` on stdin with its CPU time and stops when stdin closes
 * (bench/child-control.ts).
 */
export async function startChildProcess(entry: string, args: string[], node: string, core?: number): Promise<Child> {
  const command = [fileURLToPath(new URL(entry, import.meta.url)), ...args];
  const child =
    core === undefined
      ? spawn(node, command, { stdio: ['pipe', 'pipe', 'inherit'] })
      : spawn('taskset', ['-c', String(core), node, ...command], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  const ready = await new Promise<string[]>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /READY ([^\n]*)\n/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1].split(' '));
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench child ${entry} exited with ${code} before it was ready`)));
  });
  let asked = 0;
  const cpu = () =>
    new Promise<number>((resolve) => {
      const onData = () => {
        const answers = [...output.matchAll(/CPU (\d+)\n/g)];
        if (answers.length <= asked) return;
        child.stdout.off('data', onData);
        resolve(Number(answers[asked++]?.[1]));
      };
      child.stdout.on('data', onData);
      child.stdin.write('CPU\n');
    });
  return {
    ready,
    cpu,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
    },
  };
}

/** Starts the server in its own process (pinned to `core` when given), apart from the load client. */
async function startChild(adapter: Adapter, variant: Variant, node: string, core?: number): Promise<Server> {
  const child = await startChildProcess('./server-main.js', [adapter, variant], node, core);
  const [url = '', version = 'unknown'] = child.ready;
  return { url: url.replace('[::1]', '127.0.0.1'), node: version, cpu: child.cpu, close: child.close };
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? NaN) + upper) / 2;
};

/**
 * Runs every variant and reference on both adapters, alternating them within each round (the order
 * reversed every other round), then the micro-benchmarks. With child servers, the servers run on
 * one core and this process (the load client) on another.
 */
export async function runBench(
  options: BenchOptions,
  progress: (line: string) => void = () => undefined,
): Promise<BenchReport> {
  if (options.inProcess && options.node !== undefined) throw new Error('--node needs child servers');
  const runs: BenchReport['runs'] = [];
  const node = options.node ?? process.execPath;
  const { pinning, restore } = options.inProcess ? { pinning: null, restore: () => undefined } : pinLoadClient();
  const start = (adapter: Adapter, variant: Variant) =>
    options.inProcess ? startInProcess(adapter, variant) : startChild(adapter, variant, node, pinning?.server);
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const order = [...VARIANTS, ...REFERENCES];
      if (round % 2 === 0) order.reverse();
      for (const adapter of ADAPTERS) {
        for (const variant of order) {
          const server = await start(adapter, variant);
          try {
            if (options.warmup > 0) await load(server.url, { ...options, amount: options.warmup });
            const cpuBefore = await server.cpu();
            const result = await load(server.url, options);
            result.cpuUs = (await server.cpu()) - cpuBefore;
            result.cpuUs /= result.requests;
            if (result.bad > 0) throw new Error(`${adapter}/${variant}: ${result.bad} failed or non-2xx responses`);
            runs.push({ round, adapter, variant, node: server.node, result });
            progress(
              `round ${round} ${adapter} ${variant} (${server.node}): ${Math.round(result.rps)} req/s, ${result.cpuUs.toFixed(1)} µs CPU/request`,
            );
          } finally {
            await server.close();
          }
        }
      }
    }
  } finally {
    restore();
  }
  const rows = (variants: readonly Variant[]) =>
    ADAPTERS.flatMap((adapter) => {
      const of = (variant: Variant) => runs.filter((run) => run.adapter === adapter && run.variant === variant);
      const bare = of('bare');
      const bareRps = median(bare.map((run) => run.result.rps));
      return variants.map((variant): BenchRow => {
        const mine = of(variant);
        const rps = mine.map((run) => run.result.rps);
        const cpu = mine.map((run) => run.result.cpuUs);
        const added = mine.map(
          (run) => run.result.cpuUs - (bare.find((other) => other.round === run.round)?.result.cpuUs ?? NaN),
        );
        return {
          adapter,
          variant,
          node: mine[0]?.node ?? 'unknown',
          rps: median(rps),
          spread: [Math.min(...rps), Math.max(...rps)],
          p50: median(mine.map((run) => run.result.p50)),
          p99: median(mine.map((run) => run.result.p99)),
          ratio: median(rps) / bareRps,
          cpuUs: median(cpu),
          cpuSpread: [Math.min(...cpu), Math.max(...cpu)],
          addedUs: median(added),
        };
      });
    });
  const results = rows(VARIANTS);
  const reference = rows(REFERENCES);
  progress('micro-benchmarks');
  const micro = await runMicro(options.microScale);
  return { results, reference, micro, runs, options, pinning };
}
