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

  it('runs afterResponse tasks after close when the client leaves mid-body, leaving no listener behind', async () => {
    const leaveMidBody = (path: string) =>
      new Promise<void>((resolve, reject) => {
        const req = request(`${t.url}/clients/stream/${path}`, { headers: { connection: 'close' } }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
        req.end();
      });
    await leaveMidBody('control');
    await leaveMidBody('with-tasks');
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
