import { spawn } from 'node:child_process';
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
}

export interface BenchRow {
  adapter: Adapter;
  variant: Variant;
  rps: number;
  p50: number;
  p99: number;
  ratio: number;
  /** Server CPU time per request (µs), median over rounds: a figure less disturbed by the load client. */
  cpuUs: number;
}

export interface BenchReport {
  results: BenchRow[];
  /** Reference points from the same rounds (see REFERENCES), ratios to bare likewise. */
  reference: BenchRow[];
  micro: MicroResults;
  runs: { round: number; adapter: Adapter; variant: Variant; result: LoadResult }[];
  options: BenchOptions;
}

interface Server {
  url: string;
  /** The server's CPU time so far in µs (NaN when it shares this process). */
  cpu(): Promise<number>;
  close(): Promise<void>;
}

async function startInProcess(adapter: Adapter, variant: Variant): Promise<Server> {
  const { url, app } = await startVariant(adapter, variant);
  return { url, cpu: () => Promise.resolve(NaN), close: () => app.close() };
}

/** Starts the server in its own process, so the load client does not share its event loop. */
async function startChild(adapter: Adapter, variant: Variant): Promise<Server> {
  const entry = fileURLToPath(new URL('./server-main.js', import.meta.url));
  const child = spawn(process.execPath, [entry, adapter, variant], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /READY (\S+)/.exec(output)?.[1];
      if (url !== undefined) resolve(url.replace('[::1]', '127.0.0.1'));
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code} before it was ready`)));
  });
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
  let asked = 0;
  return {
    url,
    cpu,
    close: async () => {
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
    },
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? NaN) + upper) / 2;
};

/** Runs every variant on both adapters, alternating A B C … per round, then the micro-benchmarks. */
export async function runBench(options: BenchOptions, progress: (line: string) => void = () => undefined) {
  const runs: BenchReport['runs'] = [];
  const start = options.inProcess ? startInProcess : startChild;
  for (let round = 1; round <= options.rounds; round++) {
    for (const adapter of ADAPTERS) {
      for (const variant of [...VARIANTS, ...REFERENCES]) {
        const server = await start(adapter, variant);
        try {
          if (options.warmup > 0) await load(server.url, { ...options, amount: options.warmup });
          const cpuBefore = await server.cpu();
          const result = await load(server.url, options);
          result.cpuUs = (await server.cpu()) - cpuBefore;
          result.cpuUs /= result.requests;
          if (result.bad > 0) throw new Error(`${adapter}/${variant}: ${result.bad} failed or non-2xx responses`);
          runs.push({ round, adapter, variant, result });
          progress(`round ${round} ${adapter} ${variant}: ${Math.round(result.rps)} req/s`);
        } finally {
          await server.close();
        }
      }
    }
  }
  const rows = (variants: readonly Variant[]) =>
    ADAPTERS.flatMap((adapter) => {
      const of = (variant: Variant) => runs.filter((run) => run.adapter === adapter && run.variant === variant);
      const bareRps = median(of('bare').map((run) => run.result.rps));
      return variants.map((variant): BenchRow => {
        const mine = of(variant);
        const rps = median(mine.map((run) => run.result.rps));
        return {
          adapter,
          variant,
          rps,
          p50: median(mine.map((run) => run.result.p50)),
          p99: median(mine.map((run) => run.result.p99)),
          cpuUs: median(mine.map((run) => run.result.cpuUs)),
          ratio: rps / bareRps,
        };
      });
    });
  const results = rows(VARIANTS);
  const reference = rows(REFERENCES);
  progress('micro-benchmarks');
  const micro = await runMicro(options.microScale);
  return { results, reference, micro, runs, options } satisfies BenchReport;
}
