import { spawn, type ChildProcess } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { Agent, request } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import * as ts from 'typescript';
import { within } from './journal';

const REQUESTS = 300;
const CONCURRENCY = 20;
const SIGTERM_AFTER = 60;

/** Compiles sigterm-main.ts as the project's own build would (CommonJS, decorator metadata). */
function compileMain(): string {
  const outDir = join(__dirname, '..', 'dist-sigterm');
  mkdirSync(outDir, { recursive: true });
  const { outputText } = ts.transpileModule(readFileSync(join(__dirname, 'sigterm-main.ts'), 'utf8'), {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2021,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
    },
  });
  const file = join(outDir, 'sigterm-main.js');
  writeFileSync(file, outputText);
  return file;
}

function start(main: string, outDir: string): { child: ChildProcess; url: Promise<string>; exit: Promise<string> } {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, NODE_OPTIONS: '', OUT_DIR: outDir, TASK_MS: '300' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(`code ${code}, signal ${signal}`)),
  );
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const found = /READY (\S+)/.exec(output)?.[1];
      if (found) resolve(found);
    });
    void exit.then((how) => reject(new Error(`the app exited (${how}) before it was ready:\n${output}`)));
  });
  return { child, url: within(url, 15_000, 'READY from the app'), exit };
}

/** GET /order/<id> for `total` ids over keep-alive connections; `onAnswer` sees each 2xx. */
async function load(url: string, onAnswer: (answered: number) => void): Promise<{ ok: string[]; failed: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const outcome = { ok: [] as string[], failed: 0 };
  let next = 0;
  const one = (id: string) =>
    new Promise<boolean>((resolve) => {
      const req = request(`${url}/order/${id}`, { agent, timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
        res.on('error', () => resolve(false));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  const worker = async () => {
    while (next < REQUESTS) {
      const id = `order-${next++}`;
      if (await one(id)) {
        outcome.ok.push(id);
        onAnswer(outcome.ok.length);
      } else outcome.failed++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  return outcome;
}

describe('SIGTERM under load in a real process (enableShutdownHooks + a SIGTERM handler calling app.close())', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes the shielded task of every answered request before the process exits', async () => {
    dir = mkdtempSync(join(tmpdir(), 'nestjs-tasks-sigterm-'));
    const app = start(compileMain(), dir);
    child = app.child;
    const url = await app.url;
    const outcome = await load(url, (answered) => {
      if (answered === SIGTERM_AFTER) child!.kill('SIGTERM');
    });
    const exit = await within(app.exit, 20_000, 'the app to exit after SIGTERM');

    const written = new Set(readdirSync(dir));
    const lost = outcome.ok.filter((id) => !written.has(id));
    expect(outcome.ok.length).toBeGreaterThanOrEqual(SIGTERM_AFTER);
    expect({ lost: lost.length, of: outcome.ok.length }).toEqual({ lost: 0, of: outcome.ok.length });
    expect(exit).toBe('code 0, signal null');
  }, 60_000);
});
