import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Socket } from 'socket.io-client';
import { DEFAULT_SHUTDOWN_TIMEOUT } from '../lib/tasks.constants.js';
import { messages } from '../lib/tasks.messages.js';
import {
  connectSocketIo,
  nextEvent,
  NativeWsClient,
  startGateway,
  type GatewayApp,
  type GatewayPlatform,
} from './app/contexts/ws.js';

const wsFailure = { status: 'error', message: 'ws failed', cause: { pattern: 'fail', data: 'x' } };

/** Shutdown with a shielded task in flight, the same on both platforms. */
async function closesAfterShieldedTask(t: GatewayApp): Promise<void> {
  await t.probe.waitFor('startShielded:shielded-start');
  let closed = false;
  const closing = t.app.close().then(() => (closed = true));
  await t.logger.waitForLine(messages.shutdownWaiting(1, DEFAULT_SHUTDOWN_TIMEOUT));
  expect(closed).toBe(false);
  t.handlers.hold.open();
  await closing;
  expect(t.probe.has('startShielded:shielded-end')).toBe(true);
}

describe('WebSocket gateway on @nestjs/platform-ws with the ws client', () => {
  const platform: GatewayPlatform = 'ws';
  let t: GatewayApp;
  let client: NativeWsClient;

  beforeEach(async () => {
    t = await startGateway(platform);
    client = await NativeWsClient.connect(t.port);
  });
  afterEach(async () => {
    client.close();
    await t.app.close();
  });

  it('replies with the { event, data } a handler returns, and the handler runs an immediate task', async () => {
    client.send('echo', 'hi');
    expect(await client.next()).toEqual({ event: 'echo', data: 'hi' });
    await t.probe.waitFor('echo:immediate');
  });

  it('sends the value an async handler resolves to as it is', async () => {
    client.send('shout', 'hi');
    expect(await client.next()).toBe('HI');
    await t.probe.waitFor('shout:immediate');
  });

  it('runs a handler without a reply, which runs an immediate task', async () => {
    client.send('fire', 'once');
    await t.probe.waitFor('fire:once:immediate');
  });

  it('sends a WsException as an "exception" frame; the immediate task still runs', async () => {
    client.send('fail', 'x');
    expect(await client.next()).toEqual({ event: 'exception', data: wsFailure });
    await t.probe.waitFor('fail:immediate');
  });

  it('awaits at close a shielded task that a handler started', async () => {
    client.send('startShielded', {});
    expect(await client.next()).toEqual({ event: 'startShielded', data: true });
    await closesAfterShieldedTask(t);
  });
});

describe('WebSocket gateway on @nestjs/platform-socket.io with socket.io-client', () => {
  const platform: GatewayPlatform = 'socket.io';
  let t: GatewayApp;
  let socket: Socket;

  beforeEach(async () => {
    t = await startGateway(platform);
    socket = await connectSocketIo(t.port);
  });
  afterEach(async () => {
    socket.disconnect();
    await t.app.close();
  });

  it('emits the { event, data } a handler returns, and the handler runs an immediate task', async () => {
    const reply = nextEvent(socket, 'echo');
    socket.emit('echo', 'hi');
    expect(await reply).toBe('hi');
    await t.probe.waitFor('echo:immediate');
  });

  it('acknowledges with the value an async handler resolves to', async () => {
    expect(await socket.timeout(5000).emitWithAck('shout', 'hi')).toBe('HI');
    await t.probe.waitFor('shout:immediate');
  });

  it('runs a handler without a reply, which runs an immediate task', async () => {
    socket.emit('fire', 'once');
    await t.probe.waitFor('fire:once:immediate');
  });

  it('emits a WsException as an "exception" event; the immediate task still runs', async () => {
    const exception = nextEvent(socket, 'exception');
    socket.emit('fail', 'x');
    expect(await exception).toEqual(wsFailure);
    await t.probe.waitFor('fail:immediate');
  });

  it('awaits at close a shielded task that a handler started', async () => {
    const reply = nextEvent(socket, 'startShielded');
    socket.emit('startShielded', {});
    expect(await reply).toBe(true);
    await closesAfterShieldedTask(t);
  });
});
