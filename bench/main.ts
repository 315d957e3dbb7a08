/**
 * `npm run bench [-- --json] [-- --write] [-- --smoke] [-- --rounds N --duration S --connections N] [-- --node PATH] [-- --micro] [-- --durable [--jobs N]] [-- --instructions [--requests N]]`
 * Real servers on 127.0.0.1 driven by autocannon, bounded by duration; see bench/results.md. Each
 * server runs in its own process on one core, the load client (this process) on another (`taskset`);
 * `--node PATH` runs the servers on another Node binary. `--micro` runs the micro-benchmarks only,
 * in this process (`--json` then prints `{ "micro": … }`). `--durable` runs the durable rows only
 * (BullMQ on a Redis it starts; `--json` prints `{ "durable": … }`, `--write` replaces their
 * section of bench/results.md and nothing else). `--instructions` counts the instructions each
 * server executes per request under valgrind (see instructions.ts; `--json` prints
 * `{ "instructions": … }`).
 */
import { cpus } from 'node:os';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { runDurableBench } from './durable.js';
import { instructionsTable, runInstructions } from './instructions.js';
import { durableSection, durableSectionOf, durableTables, withDurableSection } from './durable-report.js';
import { runMicro, type MicroResults } from './micro.js';
import { runBench, type BenchOptions, type BenchReport, type BenchRow } from './run.js';

interface CliOptions extends BenchOptions {
  json: boolean;
  write: boolean;
  micro: boolean;
  durable: boolean;
  /** Jobs per jobs/s run of the durable bench. */
  jobs: number;
  instructions: boolean;
  /** Requests counted per variant by `--instructions`, after its warm-up. */
  requests: number;
}

function parse(argv: string[]): CliOptions {
  const flag = (name: string) => argv.includes(`--${name}`);
  const value = (name: string, fallback: number) => {
    const index = argv.indexOf(`--${name}`);
    const parsed = index >= 0 ? Number(argv[index + 1]) : fallback;
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} takes a positive number`);
    return parsed;
  };
  const node = () => {
    const index = argv.indexOf('--node');
    if (index < 0) return undefined;
    const path = argv[index + 1];
    const version = path === undefined ? undefined : spawnSync(path, ['--version'], { encoding: 'utf8' });
    if (path === undefined || version?.status !== 0) throw new Error(`--node takes a runnable Node binary: ${path}`);
    return path;
  };
  const smoke = flag('smoke');
  if (flag('micro') && flag('write')) throw new Error('--write needs the full bench, not --micro');
  // The micro-benchmarks run in this process: put the other Node first on PATH instead.
  if (flag('micro') && flag('node')) throw new Error('--micro runs on this Node; --node is for the servers');
  if (flag('micro') && flag('durable')) throw new Error('--micro and --durable are separate runs: pick one');
  if (flag('jobs') && !flag('durable')) throw new Error('--jobs is for --durable');
  if (flag('requests') && !flag('instructions')) throw new Error('--requests is for --instructions');
  if (flag('instructions') && (flag('micro') || flag('durable') || flag('write'))) {
    throw new Error('--instructions is a run of its own: without --micro, --durable or --write');
  }
  return {
    micro: flag('micro'),
    durable: flag('durable'),
    jobs: value('jobs', smoke ? 200 : 20_000),
    instructions: flag('instructions'),
    requests: value('requests', smoke ? 40 : 2000),
    json: flag('json'),
    write: flag('write'),
    node: node(),
    rounds: value('rounds', smoke ? 1 : 5),
    duration: value('duration', 5),
    amount: smoke ? 300 : undefined,
    connections: value('connections', smoke ? 10 : 32),
    warmup: smoke ? 0 : 2000,
    inProcess: false,
    microScale: smoke ? 0.01 : 1,
  };
}

const fixed = (value: number, digits = 2) => value.toFixed(digits);
const range = ([min, max]: [number, number], digits = 0) => `${fixed(min, digits)}–${fixed(max, digits)}`;
const signed = (value: number) => `${value < 0 ? '−' : '+'}${Math.abs(value).toFixed(0)}`;

function rowsTable(rows: BenchRow[], label: string): string[] {
  return [
    `| adapter | ${label} | Node | server CPU µs/request (min–max) | added µs over bare | req/s (min–max) | ratio to bare | p50 (ms) | p99 (ms) |`,
    '|---|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((row) => {
      const cells = [
        row.adapter,
        row.variant,
        row.node,
        `${fixed(row.cpuUs, 1)} (${range(row.cpuSpread, 1)})`,
        fixed(row.addedUs, 1),
        `${Math.round(row.rps)} (${range(row.spread)})`,
        fixed(row.ratio, 3),
        row.p50,
        row.p99,
      ];
      return `| ${cells.join(' | ')} |`;
    }),
  ];
}

function table(report: BenchReport): string {
  const lines = [
    ...rowsTable(report.results, 'variant'),
    '',
    "Reference from the same rounds, no nestjs-tasks: `alsFloor` is bare NestJS plus one `AsyncLocalStorage.run()` per request in a server hook, the least any AsyncLocalStorage-based design costs; `fireAndForget` calls `void empty()` in the handler, the floor for doing any work at all; `handWrittenClose` does `res.once('close', () => void empty())` on the raw response from a `@Res({ passthrough: true })` handler.",
    '',
    ...rowsTable(report.reference, 'reference'),
  ];
  lines.push('', ...microTable(report.micro));
  return lines.join('\n');
}

function microTable(m: MicroResults): string[] {
  return [
    '| micro-benchmark | figure |',
    '|---|---:|',
    `| schedule→settled, empty async fn (ns/task) | ${fixed(m.scheduleToSettledNs, 0)} |`,
    `| hand-written Set of promises (ns/task) | ${fixed(m.handWrittenNs, 0)} |`,
    `| ratio to hand-written | ${fixed(m.ratio)} |`,
    `| heap per pending task (bytes, ${m.largeCount} pending) | ${fixed(m.bytesPerPendingTask, 0)} |`,
    `| hand-written heap per pending promise (bytes) | ${fixed(m.handWrittenBytesPerPending, 0)} |`,
    `| per-task cost at 1000 / ${m.largeCount} pending (ns) | ${fixed(m.perTaskNsAt1k, 0)} / ${fixed(m.perTaskNsAt100k, 0)} |`,
    `| flatness (${m.largeCount} over 1000) | ${fixed(m.flatness)} |`,
    `| hand-written flatness, same measure | ${fixed(m.handWrittenFlatness)} |`,
    `| last task settled → onIdle() resolved (ms) | ${fixed(m.onIdleLagMs, 3)} |`,
    `| last shielded task settled → app.close() resolved (ms) | ${fixed(m.closeLagMs, 3)} |`,
    `| schedule→settled with TasksTelemetryModule, no OpenTelemetry SDK (ns/task; ratio to without) | ${fixed(m.telemetryNoSdkNs, 0)} (${fixed(m.telemetryNoSdkRatio)}) |`,
    `| schedule→settled with \`timeout\` + \`retry\` set, succeeding first time (ns/task) | ${fixed(m.controlledNs, 0)} |`,
    `| ratio to the plain task above | ${fixed(m.controlledRatio)} |`,
    `| ${m.largeCount} tasks through \`concurrency: 8\`, one microtask of work each (ns/task) | ${fixed(m.concurrency8Ns, 0)} |`,
    `| p-queue with \`concurrency: 8\`, same tasks (ns/task) | ${fixed(m.pQueue8Ns, 0)} |`,
    `| ratio to p-queue (lower is better) | ${fixed(m.concurrencyRatio)} |`,
    `| per simulated request, no server: one \`AsyncLocalStorage.run()\` (ns) | ${fixed(m.request.alsRunNs, 0)} |`,
    `| per simulated request: nestjs-tasks' store and handler tracking, nothing scheduled (ns; added over the line above) | ${fixed(m.request.storeNs, 0)} (${signed(m.request.storeNs - m.request.alsRunNs)}) |`,
    `| per simulated request: \`res.once('close', () => void empty())\`, no store (ns) | ${fixed(m.request.handWrittenCloseNs, 0)} |`,
    `| per simulated request: store, tracking and one afterResponse task to settled (ns; added over the hand-written close) | ${fixed(m.request.afterResponseNs, 0)} (${signed(m.request.afterResponseNs - m.request.handWrittenCloseNs)}) |`,
    `| per simulated request: store, tracking and one task in each mode to settled (ns; added over the hand-written close) | ${fixed(m.request.perModeNs, 0)} (${signed(m.request.perModeNs - m.request.handWrittenCloseNs)}) |`,
  ];
}

function pinned(report: BenchReport): string {
  const { pinning } = report;
  return pinning === null
    ? 'Servers and load client were not pinned (no taskset or one core), so figures are noisier.'
    : `Each server ran pinned to core ${pinning.server} and the load client to core ${pinning.load} (taskset).`;
}

function versions(report: BenchReport): string {
  const require = createRequire(import.meta.url);
  const nest = JSON.parse(readFileSync(require.resolve('@nestjs/core/package.json'), 'utf8')) as { version: string };
  const servers = report.results[0]?.node ?? process.version;
  return `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, servers on Node ${servers} (load client on ${process.version}), NestJS ${nest.version}`;
}

const RESULTS = new URL('../../bench/results.md', import.meta.url);
const readResults = () => (existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '');

function nestVersion(): string {
  const require = createRequire(import.meta.url);
  const read = (name: string) =>
    (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  return `NestJS ${read('@nestjs/core')}, BullMQ ${read('bullmq')}`;
}

/** `--durable`: the durable rows alone, on a Redis the bench starts. */
async function durable(options: CliOptions): Promise<void> {
  const report = await runDurableBench(
    {
      ...options,
      concurrency: 10,
      workerCounts: [1, 2],
    },
    (line) => process.stderr.write(`${line}\n`),
  );
  const { http, jobs, handOff, redis, pinning } = report;
  process.stdout.write(
    options.json
      ? `${JSON.stringify({ durable: { http, jobs, handOff, redis, pinning } })}\n`
      : `${durableTables(report)}\n`,
  );
  if (!options.write) return;
  const servers = http[0]?.node ?? process.version;
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, servers and workers on Node ${servers} (load client on ${process.version}), ${nestVersion()}`;
  writeFileSync(RESULTS, withDurableSection(readResults(), durableSection(report, machine)));
}

const options = parse(process.argv.slice(2));
if (options.micro) {
  const micro = await runMicro(options.microScale);
  process.stdout.write(options.json ? `${JSON.stringify({ micro })}\n` : `${microTable(micro).join('\n')}\n`);
  process.exit(0);
}
if (options.durable) {
  await durable(options);
  process.exit(0);
}
if (options.instructions) {
  const rows = await runInstructions(
    {
      node: options.node ?? process.execPath,
      warmup: options.warmup === 0 ? 40 : 1000,
      requests: options.requests,
    },
    (line) => process.stderr.write(`${line}\n`),
  );
  process.stdout.write(
    options.json ? `${JSON.stringify({ instructions: rows })}\n` : `${instructionsTable(rows).join('\n')}\n`,
  );
  process.exit(0);
}
const report = await runBench(options, (line) => process.stderr.write(`${line}\n`));
if (options.json) {
  process.stdout.write(
    `${JSON.stringify({ results: report.results, micro: report.micro, reference: report.reference, pinning: report.pinning })}\n`,
  );
} else {
  process.stdout.write(`${table(report)}\n`);
}
if (options.write) {
  const header = [
    '# Benchmark results',
    '',
    `Generated by \`npm run bench -- --write\` on ${new Date().toISOString().slice(0, 10)}: ${versions(report)}.`,
    `${options.rounds} rounds, variants alternated within each round (order reversed every other round); ${options.duration} s per run at ${options.connections} connections after ${options.warmup} warm-up requests; medians reported with min–max over rounds. ${pinned(report)} The primary figure is server CPU µs/request, the server process's own CPU time over the requests it served; added µs over bare is the median over rounds of that figure minus bare's from the same round and adapter. Micro-benchmarks run on the load client's Node.`,
    '',
    '',
  ].join('\n');
  // The durable rows come from their own run (`--durable --write`): keep them.
  const kept = durableSectionOf(readResults());
  writeFileSync(RESULTS, `${header}${table(report)}\n${kept === undefined ? '' : `\n${kept}\n`}`);
}
