/** Child process entry: `node server-main.js <adapter> <variant>`; prints `READY <url> <process.version>`. */
import { ADAPTERS, REFERENCES, VARIANTS, startVariant, type Adapter, type Variant } from './variants.js';

const KINDS: readonly string[] = [...VARIANTS, ...REFERENCES];

const [adapter, variant] = process.argv.slice(2) as [Adapter, Variant];
if (!ADAPTERS.includes(adapter) || !KINDS.includes(variant)) {
  console.error(`usage: server-main.js <${ADAPTERS.join('|')}> <${KINDS.join('|')}>`);
  process.exit(2);
}
const { url, app } = await startVariant(adapter, variant);
process.stdout.write(`READY ${url} ${process.version}\n`);
// `CPU` on stdin: answer with this process's CPU time so far (µs). Closing stdin stops us,
// so a bench never leaves a server behind.
process.stdin.on('data', (chunk: Buffer) => {
  if (!chunk.toString().includes('CPU')) return;
  const { user, system } = process.cpuUsage();
  process.stdout.write(`CPU ${user + system}\n`);
});
process.stdin.on('close', () => void app.close().then(() => process.exit(0)));
process.stdin.resume();
