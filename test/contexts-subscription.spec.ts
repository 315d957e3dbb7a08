import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { GraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import WebSocket from 'ws';
import { TickResolver } from './app/contexts/subscription.js';
import { startApp, type TestApp } from './app/harness.js';
import { Probe } from './app/probe.js';

/** Opens a graphql-transport-ws connection and subscribes; resolves once the server acknowledged. */
async function subscribe(url: string, query: string): Promise<WebSocket> {
  const socket = new WebSocket(url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws');
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const acknowledged = new Promise<void>((resolve) =>
    socket.on('message', (data: Buffer) => {
      if ((JSON.parse(data.toString()) as { type: string }).type === 'connection_ack') resolve();
    }),
  );
  socket.send(JSON.stringify({ type: 'connection_init' }));
  await acknowledged;
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
  return socket;
}

describe('GraphQL subscriptions (Mercurius on Fastify)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp('fastify', {
      imports: [
        GraphQLModule.forRoot<MercuriusDriverConfig>({
          driver: MercuriusDriver,
          autoSchemaFile: true,
          subscription: true,
        }),
      ],
      providers: [Probe, TickResolver],
    });
  });
  afterEach(() => t.app.close());

  it('are not tracked: deferred scheduling throws a TasksError at the call; immediate tasks run', async () => {
    const socket = await subscribe(t.url.replace('[::1]', '127.0.0.1'), 'subscription { ticked }');
    const probe = t.get(Probe);
    await probe.waitFor('immediate:ran');
    socket.close();
    await t.tasks.onIdle();
    expect(probe.events).toEqual(['afterRoute:threw:TasksError', 'afterResponse:threw:TasksError', 'immediate:ran']);
  });
});
