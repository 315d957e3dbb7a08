// Prints one `node <version>: N passed, N failed` line per Jest run, the consumer checks' line,
// then the total `tests: N passed, N failed` as the last line; exits 1 if anything failed.
// Usage: node .ci/summary.mjs <consumers.log> <version>=<jest-results.json> ...
// A Jest run that wrote no results counts as one failure, and so does a consumer log without
// its `consumers: N passed, N failed` line.
import { existsSync, readFileSync } from 'node:fs';

const [consumersLog, ...runs] = process.argv.slice(2);
let passed = 0;
let failed = 0;
for (const run of runs) {
  const [version, file] = run.split('=');
  const r = existsSync(file) && readFileSync(file, 'utf8').trim() ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  const ok = r ? r.numPassedTests : 0;
  const bad = r ? r.numFailedTests + (r.numRuntimeErrorTestSuites || 0) + (r.numTotalTests === 0 ? 1 : 0) : 1;
  console.log(`node ${version}: ${ok} passed, ${bad} failed${r ? '' : ' (Jest wrote no results)'}`);
  passed += ok;
  failed += bad;
}
const text = existsSync(consumersLog) ? readFileSync(consumersLog, 'utf8') : '';
const line = /consumers: (\d+) passed, (\d+) failed/.exec(text);
const [cPassed, cFailed] = line ? [Number(line[1]), Number(line[2])] : [0, 1];
console.log(`consumers: ${cPassed} passed, ${cFailed} failed${line ? '' : ' (no consumer summary)'}`);
passed += cPassed;
failed += cFailed;
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
