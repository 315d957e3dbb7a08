/**
 * Child process entry: `node server-main.js <adapter> <variant> [redisPort]` (the port for the
 * durable routes only); prints `READY <url> <process.version>`.
 */
import { serveBench } from './child-control.js';
import { ADAPTERS, REFERENCES, VARIANTS, startVariant, type Adapter, type Variant } from './variants.js';
import { DURABLE_ROUTES, type DurableRoute } from './durable-kinds.js';

const KINDS: readonly string[] = [...VARIANTS, ...REFERENCES, ...DURABLE_ROUTES];

const [adapter, variant, redisPort] = process.argv.slice(2) as [Adapter, string, string?];
if (!ADAPTERS.includes(adapter) || !KINDS.includes(variant)) {
  console.error(`usage: server-main.js <${ADAPTERS.join('|')}> <${KINDS.join('|')}> [redisPort]`);
  process.exit(2);
}
// The durable routes load bullmq: only when asked for, so the other servers run without it.
const { url, app } = (DURABLE_ROUTES as readonly string[]).includes(variant)
  ? await (await import('./durable-apps.js')).startDurableRoute(adapter, variant as DurableRoute, Number(redisPort))
  : await startVariant(adapter, variant as Variant);
serveBench(`${url} ${process.version}`, () => app.close());
