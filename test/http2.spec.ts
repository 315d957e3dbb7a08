import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { once } from 'node:events';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { H2Controller } from './app/h2.controller.js';
import { startApp, type TestApp } from './app/harness.js';
import { Probe } from './app/probe.js';

/** GET over a real HTTP/2 (h2c) connection. */
async function get(session: ClientHttp2Session, path: string): Promise<{ status: unknown; body: unknown }> {
  const stream = session.request({ ':path': path });
  const [headers] = (await once(stream, 'response')) as [IncomingHttpHeaders];
  stream.setEncoding('utf8');
  let body = '';
  for await (const chunk of stream) body += chunk as string;
  return { status: headers[':status'], body: JSON.parse(body) };
}

describe('Fastify with http2: true (h2c), a real node:http2 client', () => {
  let t: TestApp;
  let session: ClientHttp2Session;
  beforeEach(async () => {
    t = await startApp('fastify', {
      adapter: new FastifyAdapter({ http2: true }),
      controllers: [H2Controller],
      providers: [Probe],
    });
    session = connect(t.url.replace('[::1]', '127.0.0.1'));
  });
  afterEach(async () => {
    session.close();
    await t.app.close();
  });

  it('runs the three modes in order, and a late afterResponse task scheduled from an afterResponse task', async () => {
    expect(await get(session, '/h2/modes')).toEqual({ status: 200, body: { ok: true } });
    await t.get(Probe).waitFor('late');
    await t.tasks.onIdle();
    expect(t.get(Probe).events).toEqual(['immediate', 'afterRoute', 'afterResponse', 'late']);
  });

  it('starts an afterResponse task first scheduled after the response closed, and onIdle() resolves', async () => {
    expect(await get(session, '/h2/late')).toEqual({ status: 200, body: { ok: true } });
    await t.get(Probe).waitFor('late-first');
    await t.tasks.onIdle();
    expect(t.get(Probe).events).toEqual(['response:closed', 'late-first']);
  });
});
