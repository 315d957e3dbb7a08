import { describe, expect, it } from '@jest/globals';
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
    for (const value of Object.values(report.micro)) expect(Number.isFinite(value)).toBe(true);
  }, 120_000);
});
