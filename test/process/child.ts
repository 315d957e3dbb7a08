import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** A compiled fixture of test/process/ (`npm test` compiles them first), by its base name. */
export const processEntry = (name: string) =>
  fileURLToPath(new URL(`../../dist-test/test/process/${name}.js`, import.meta.url));

const serverEntry = processEntry('server');

export interface ServerProcess {
  /** What the child printed after `READY`: its URL (a worker prints its pid). */
  url: string;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the ms from `since` to exit, or rejects after `timeoutMs`. */
  exited(since: number, timeoutMs: number): Promise<number>;
  child: ChildProcessByStdio<Writable, Readable, Readable>;
}

/**
 * Starts the fixture server (`npm test` compiles it first), or another fixture given as `entry`,
 * and waits for `READY <url>`.
 */
export async function startServer(
  env: Record<string, string>,
  nodeArgs: string[] = [],
  entry = serverEntry,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exitedAt: number | undefined;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exitedAt = Date.now()), resolve())));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // not left running behind a failed test
      reject(new Error(`server not ready in 15 s:\n${output}`));
    }, 15_000);
    const check = () => {
      const found = /READY (\S+)/.exec(output)?.[1];
      if (found === undefined) return;
      clearTimeout(timer);
      resolve(found);
    };
    child.stdout.on('data', check);
    void exit.then(() => reject(new Error(`server exited before it was ready:\n${output}`)));
  });
  return {
    url,
    child,
    output: () => output,
    exited: (since, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`server still running ${timeoutMs} ms after SIGTERM:\n${output.slice(-2000)}`));
        }, timeoutMs);
        void exit.then(() => {
          clearTimeout(timer);
          resolve((exitedAt ?? Date.now()) - since);
        });
      }),
  };
}
