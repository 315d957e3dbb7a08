/**
 * Child process entry: `node worker-main.js <library|plain> <redisPort> <concurrency>`; prints
 * `READY <kind> <process.version>` once its worker is constructed (the bench then waits until
 * Redis lists its connection before it releases the jobs).
 */
import { serveBench } from './child-control.js';
import { WORKER_KINDS, type WorkerKind } from './durable-kinds.js';
import { startWorker } from './durable-apps.js';

const [kind, redisPort, concurrency] = process.argv.slice(2) as [WorkerKind, string, string];
if (!WORKER_KINDS.includes(kind) || !(Number(redisPort) > 0) || !(Number(concurrency) >= 1)) {
  console.error(`usage: worker-main.js <${WORKER_KINDS.join('|')}> <redisPort> <concurrency>`);
  process.exit(2);
}
const worker = await startWorker(kind, Number(redisPort), Number(concurrency));
serveBench(`${kind} ${process.version}`, () => worker.close());
