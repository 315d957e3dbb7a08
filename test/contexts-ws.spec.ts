import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Socket } from 'socket.io-client';
import { DEFAULT_SHUTDOWN_TIMEOUT } from '../lib/core/tasks.constants.js';
import { messages } from '../lib/core/tasks.messages.js';
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

const allModes = ['handler', 'immediate', 'afterRoute', 'afterResponse', 'always'];

/** After a handler's reply: every mode ran, in order. */
async function ranEveryMode(t: GatewayApp, name: string): Promise<void> {
  await t.probe.waitFor(`${name}:always`);
  expect(t.handlers.seen(name)).toEqual(allModes);
}

/** Late scheduling and async context in a gateway handler call. */
async function lateScheduling(t: GatewayApp): Promise<void> {
  await t.probe.waitFor('late:late:after-the-answer');
  expect(t.handlers.seen('late')).toEqual(
    ['afterRoute:context=late', 'afterResponse:context=late', 'after-the-answer'].map((event) => `late:${event}`),
  );
}

/** After a failing handler's exception: its deferred tasks were dropped, its always task ran. */
async function droppedDeferred(t: GatewayApp): Promise<void> {
  await t.probe.waitFor('fail:always');
  await t.tasks.onIdle();
  expect(t.handlers.seen('fail')).toEqual(['handler', 'immediate', 'always']);
  expect(t.logger.tasks('debug').map((line) => line.message)).toEqual([
    messages.droppedFailedRequest('fail:afterRoute', 'afterRoute'),
    messages.droppedFailedRequest('fail:afterResponse', 'afterResponse'),
  ]);
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

  it('runs the three modes in order around a reply, and for a handler without one', async () => {
    client.send('echo', 'hi');
    await client.next();
    await ranEveryMode(t, 'echo');
    client.send('fire', 'once');
    await ranEveryMode(t, 'fire:once');
  });

  it('late scheduling starts a task whose moment has passed; tasks run in the async context of the call', async () => {
    client.send('late', {});
    await client.next();
    await lateScheduling(t);
  });

  it('a WsException drops the deferred tasks of its handler; always ones run', async () => {
    client.send('fail', 'x');
    await client.next();
    await droppedDeferred(t);
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

  it('runs the three modes in order around a reply or an ack, and for a handler without one', async () => {
    await socket.timeout(5000).emitWithAck('shout', 'hi');
    await ranEveryMode(t, 'shout');
    socket.emit('fire', 'once');
    await ranEveryMode(t, 'fire:once');
  });

  it('late scheduling starts a task whose moment has passed; tasks run in the async context of the call', async () => {
    const reply = nextEvent(socket, 'late');
    socket.emit('late', {});
    await reply;
    await lateScheduling(t);
  });

  it('a WsException drops the deferred tasks of its handler; always ones run', async () => {
    const exception = nextEvent(socket, 'exception');
    socket.emit('fail', 'x');
    await exception;
    await droppedDeferred(t);
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
