import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A throwaway Redis server: loopback only, no persistence, its own temp dir. */
export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Stops the server, awaits its exit and removes its temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Where to look for `redis-server`. @default process.env.PATH */
  searchPath?: string;
  /** Listen on this port (to restart a stopped server where its clients reconnect). @default a free port */
  port?: number;
  /** How long to wait for the first PONG. @default 10_000 */
  readyTimeoutMs?: number;
}

const binary = 'redis-server';

/** The error when `redis-server` is missing: it says how to install it, so no test skips silently. */
export const redisServerMissing = (searchPath: string) =>
  `${binary} is not on PATH (${searchPath || 'empty'}). Real-Redis tests need it: ` +
  `install it with \`apt-get update && apt-get install -y redis-server\` (Debian; .ci/run does this).`;

/**
 * Starts Debian's `redis-server` on a free 127.0.0.1 port and resolves once it answers PING.
 *
 * @example
 * const redis = await startRedis();
 * const queue = new Queue('q', { connection: { host: '127.0.0.1', port: redis.port } });
 * // ...
 * await redis.stop();
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const searchPath = options.searchPath ?? process.env.PATH ?? '';
  const command = await findOnPath(binary, searchPath);
  if (!command) throw new Error(redisServerMissing(searchPath));
  // Another process may take the port between our probe and redis's bind: try a few ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(command, options.port ?? (await freePort()), options.readyTimeoutMs ?? 10_000);
    } catch (error) {
      if (attempt >= 3 || options.port !== undefined || !(error instanceof PortInUse)) throw error;
    }
  }
}

class PortInUse extends Error {}

async function launch(command: string, port: number, readyTimeoutMs: number): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'nestjs-tasks-redis-'));
  const child = spawn(
    command,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = tail(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test process that dies before stop() must not leave the server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM'); // no save points configured: redis exits without writing anything
        const killed = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killed);
      }
      await rm(dir, { recursive: true, force: true });
    })());

  try {
    await waitForPong(port, child, readyTimeoutMs, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, url: `redis://127.0.0.1:${port}`, stop };
}

async function waitForPong(port: number, child: ChildProcess, timeoutMs: number, output: () => string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = output();
      const message = `${binary} on port ${port} exited (${child.exitCode ?? child.signalCode}) before answering PING:\n${log}`;
      throw /Address already in use/i.test(log) ? new PortInUse(message) : new Error(message);
    }
    if (await ping(port)) return;
    if (Date.now() >= deadline) {
      throw new Error(`${binary} on port ${port} did not answer PING within ${timeoutMs} ms:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // poll interval, not a wait for an outcome
  }
}

/** One inline `PING` over raw TCP: true on `+PONG`, false on any error or after 1 s. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** A port free on 127.0.0.1 now: listen on port 0, read the port, close. Redis has no port 0. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function findOnPath(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Keeps the last 8 KB of the server's stdout and stderr, for error messages. */
function tail(child: ChildProcess): () => string {
  let log = '';
  const keep = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-8192));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => log;
}
