import { describe, expect, it } from '@jest/globals';
import { runDurableBench } from '../bench/durable.js';
import { DURABLE_ROUTES } from '../bench/durable-kinds.js';
import { DURABLE_HEADING, durableSectionOf, withDurableSection } from '../bench/durable-report.js';
import { runBench } from '../bench/run.js';
import { ADAPTERS, REFERENCES, VARIANTS } from '../bench/variants.js';

describe('npm run bench (smoke)', () => {
  it('runs every variant on both adapters and the micro-benchmarks', async () => {
    const report = await runBench({
      rounds: 1,
      duration: 1,
      amount: 200,
      connections: 5,
      warmup: 0,
      inProcess: true,
      microScale: 0.01,
    });
    expect(report.results.map((row) => `${row.adapter}/${row.variant}`)).toEqual(
      ADAPTERS.flatMap((adapter) => VARIANTS.map((variant) => `${adapter}/${variant}`)),
    );
    expect(REFERENCES).toEqual(['alsFloor', 'fireAndForget', 'handWrittenClose']);
    expect(report.reference.map((row) => `${row.adapter}/${row.variant}`)).toEqual(
      ADAPTERS.flatMap((adapter) => REFERENCES.map((variant) => `${adapter}/${variant}`)),
    );
    for (const row of [...report.results, ...report.reference]) {
      expect(row.rps).toBeGreaterThan(0);
      expect(Number.isFinite(row.ratio)).toBe(true);
      expect(row.node).toBe(process.version);
      expect(row.spread).toEqual([row.rps, row.rps]);
      // In-process servers share the load client's CPU clock: no CPU figures, but the fields exist.
      expect(typeof row.cpuUs).toBe('number');
      expect(typeof row.addedUs).toBe('number');
    }
    expect(report.pinning).toBeNull();
    for (const run of report.runs) expect(run.result.bad).toBe(0);
    const { request, ...micro } = report.micro;
    for (const value of [...Object.values(micro), ...Object.values(request)]) expect(Number.isFinite(value)).toBe(true);
  }, 120_000);
});

describe('npm run bench -- --durable (smoke)', () => {
  it('runs every durable route on both adapters and both workers with 1 and 2 workers, on a Redis it starts', async () => {
    const report = await runDurableBench({
      rounds: 1,
      duration: 1,
      amount: 100,
      connections: 5,
      warmup: 0,
      jobs: 100,
      concurrency: 10,
      workerCounts: [1, 2],
      inProcess: true,
    });
    expect(report.http.map((row) => `${row.adapter}/${row.route}`)).toEqual(
      ADAPTERS.flatMap((adapter) => DURABLE_ROUTES.map((route) => `${adapter}/${route}`)),
    );
    for (const row of report.http) {
      expect(row.rps).toBeGreaterThan(0);
      expect(Number.isFinite(row.ratio)).toBe(true);
      expect(row.node).toBe(process.version);
    }
    for (const run of report.httpRuns) expect(run.result.bad).toBe(0);
    // Every job ran: a run with a failed job or one left over throws instead of reporting.
    expect(report.jobs.map((row) => `${row.workers}/${row.kind}`)).toEqual([
      '1/library',
      '1/plain',
      '2/library',
      '2/plain',
    ]);
    for (const row of report.jobs) {
      expect(row.jobsPerSec).toBeGreaterThan(0);
      expect(Number.isFinite(row.ratio)).toBe(true);
    }
    expect(report.redis).toMatch(/^\d+\.\d+/);
    expect(report.pinning).toBeNull();
  }, 60_000);

  it('--write replaces the durable section of bench/results.md and keeps the rest as it was', () => {
    const file = '# Benchmark results\n\nintro\n\n## Node 24\n\nrows 24\n\n## Node 20\n\nrows 20\n';
    const once = withDurableSection(file, `${DURABLE_HEADING}\n\nfirst`);
    expect(once).toBe(`${file}\n${DURABLE_HEADING}\n\nfirst\n`);
    const twice = withDurableSection(once, `${DURABLE_HEADING}\n\nsecond`);
    expect(twice).toBe(`${file}\n${DURABLE_HEADING}\n\nsecond\n`);
    expect(durableSectionOf(twice)).toBe(`${DURABLE_HEADING}\n\nsecond`);
    // A section followed by another keeps that one too.
    const middle = withDurableSection(`${once}\n## Later\n\nkept\n`, `${DURABLE_HEADING}\n\nthird`);
    expect(middle).toBe(`${file}\n${DURABLE_HEADING}\n\nthird\n\n## Later\n\nkept\n`);
    expect(durableSectionOf(file)).toBeUndefined();
  });
});
