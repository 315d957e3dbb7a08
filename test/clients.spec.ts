import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Agent, request } from 'node:http';
import { ClientsController } from './app/clients.controller.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Probe } from './app/probe.js';
import { watchProcessErrors } from './app/process-errors.js';

describe.each(adapters)('client behaviour on %s', (adapter) => {
  const processErrors = watchProcessErrors();
  let t: TestApp;
  let probe: Probe;

  beforeEach(async () => {
    t = await startApp(adapter, { controllers: [ClientsController], providers: [Probe] });
    probe = t.get(Probe);
  });
  afterEach(async () => {
    await t.app.close();
    processErrors.expectNone();
  });

  /** Reads the first chunk of `path`'s body, then destroys the socket, as a closing browser tab does. */
  const leaveMidBody = (path: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(`${t.url}/clients/${path}`, { headers: { connection: 'close' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
      req.end();
    });

  it('runs afterResponse tasks after close when the client leaves mid-body, leaving no listener behind', async () => {
    await leaveMidBody('stream/control');
    await leaveMidBody('stream/with-tasks');
    await probe.waitFor('stream:afterResponse');
    await probe.waitFor('stream:listeners-checked');
    await t.tasks.onIdle();
    const left = (label: string) => probe.events.find((event) => event.startsWith(`${label}:close-listeners-left=`));
    expect(probe.events.filter((event) => event.startsWith('stream:') && !event.includes('listeners'))).toEqual([
      'stream:afterRoute',
      'stream:closed:finished=false',
      'stream:afterResponse',
    ]);
    // Scheduling tasks leaves no listener on the response beyond what the same route leaves without them.
    expect(left('stream')?.split('=')[1]).toBe(left('control')?.split('=')[1]);
  });

  it('counts an @Sse stream the client leaves as completed: its afterRoute and afterResponse tasks run', async () => {
    await leaveMidBody('sse-endless');
    await probe.waitFor('sse:afterResponse');
    await t.tasks.onIdle();
    expect([...probe.events].sort()).toEqual([
      'sse:afterResponse',
      'sse:afterRoute',
      'sse:closed:finished=false',
      'sse:source-finalized',
    ]);
    // afterResponse waited for the response to close, and nothing was dropped.
    expect(probe.events.indexOf('sse:afterResponse')).toBeGreaterThan(
      probe.events.indexOf('sse:closed:finished=false'),
    );
    expect(t.logger.tasks('debug')).toEqual([]);
  });

  it('leaves no listener behind on a keep-alive connection, over many requests on one socket', async () => {
    const requests = 30;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<{ socket: number; listeners: Record<string, number> }>((resolve, reject) => {
        const req = request(`${t.url}/clients/keep-alive/${path}`, { agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve(JSON.parse(body)));
        });
        req.on('error', reject);
        req.end();
      });
    const run = async (kind: string) => {
      const answers = [];
      for (let n = 0; n < requests; n++) answers.push(await get(`${kind}/${n}`));
      return answers;
    };
    const control = await run('control');
    const withTasks = await run('with-tasks');
    agent.destroy();
    const label = (kind: string, n: number) => `keep-alive${kind === 'control' ? '-control' : ''}:${n}`;
    const left = (kind: string, n: number) =>
      probe.events.find((event) => event.startsWith(`${label(kind, n)}:left=`))?.split('=')[1];
    await probe.waitFor(`${label('control', requests - 1)}:checked`);
    await probe.waitFor(`${label('with-tasks', requests - 1)}:checked`);
    await t.tasks.onIdle();

    // Every request of both runs travelled on one and the same socket.
    expect(new Set([...control, ...withTasks].map((answer) => answer.socket)).size).toBe(1);
    // What the socket holds after 59 requests is what it held after the first one: nothing accumulates.
    const first = control[1]!.listeners;
    expect(first.close).toBeGreaterThan(0);
    expect(withTasks.map((answer) => answer.listeners)).toEqual(withTasks.map(() => first));
    // Each response is left with the listeners the same route leaves without tasks.
    for (let n = 0; n < requests; n++) expect(left('with-tasks', n)).toBe(left('control', n));
    expect(probe.events.filter((event) => event.endsWith('afterResponse'))).toHaveLength(requests);
  });

  it('runs every task exactly once for 200 concurrent keep-alive clients', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 200 });
    const get = (id: number) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${t.url}/clients/count/${id}`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    const ids = Array.from({ length: 200 }, (_, i) => i);
    const statuses = await Promise.all(ids.map(get));
    const again = await Promise.all(ids.map((id) => get(id + 200)));
    agent.destroy();
    await t.tasks.onIdle();
    expect(new Set([...statuses, ...again])).toEqual(new Set([200]));
    const expected = [...ids, ...ids.map((id) => id + 200)].flatMap((id) =>
      ['immediate', 'afterRoute', 'afterResponse'].map((mode) => `${mode}:${id}`),
    );
    expect([...probe.events].sort()).toEqual(expected.sort());
  });
});
