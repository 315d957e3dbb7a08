import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { DEFAULT_SHUTDOWN_TIMEOUT } from '../lib/core/tasks.constants.js';
import { messages } from '../lib/core/tasks.messages.js';
import { rpcModes, startRpc, type RpcApp } from './app/contexts/rpc.js';

describe.each(rpcModes)('microservice handlers over TCP, %s', (mode) => {
  let t: RpcApp;

  beforeEach(async () => {
    t = await startRpc(mode);
  });
  afterEach(() => t.close());

  it('answers a MessagePattern returning a value, and the handler runs an immediate task', async () => {
    expect(await firstValueFrom(t.client.send<number>('sum', [1, 2, 3]))).toBe(6);
    await t.probe.waitFor('sum:immediate');
  });

  it('answers a MessagePattern returning a promise', async () => {
    expect(await firstValueFrom(t.client.send<number>('double', 21))).toBe(42);
    await t.probe.waitFor('double:immediate');
  });

  it('answers a MessagePattern returning an observable, one reply per value', async () => {
    expect(await lastValueFrom(t.client.send<number>('count', 3).pipe(toArray()))).toEqual([1, 2, 3]);
    await t.probe.waitFor('count:immediate');
  });

  it('sends the RpcException of a throwing handler to the client; its immediate task still runs', async () => {
    await expect(firstValueFrom(t.client.send('fail', {}))).rejects.toEqual({ status: 'error', message: 'rpc failed' });
    await t.probe.waitFor('fail:immediate');
  });

  it('runs an EventPattern handler, which runs an immediate task', async () => {
    await lastValueFrom(t.client.emit('notified', 'shipped'), { defaultValue: undefined });
    await t.probe.waitFor('notified:shipped:immediate');
    expect(t.probe.events).toContain('notified:shipped:handler');
  });

  it('runs the three modes of a MessagePattern in order, for a value, a promise and an observable', async () => {
    await firstValueFrom(t.client.send<number>('sum', [1, 2]));
    await firstValueFrom(t.client.send<number>('double', 2));
    await lastValueFrom(t.client.send<number>('count', 2).pipe(toArray()));
    for (const name of ['sum', 'double', 'count']) {
      await t.probe.waitFor(`${name}:always`);
      expect(t.handlers.seen(name)).toEqual(['handler', 'immediate', 'afterRoute', 'afterResponse', 'always']);
    }
  });

  it('runs the three modes of an EventPattern in order', async () => {
    await lastValueFrom(t.client.emit('notified', 'paid'), { defaultValue: undefined });
    await t.probe.waitFor('notified:paid:always');
    expect(t.handlers.seen('notified:paid')).toEqual(['handler', 'immediate', 'afterRoute', 'afterResponse', 'always']);
  });

  it('an RpcException drops the deferred tasks of its handler; always ones run', async () => {
    await expect(firstValueFrom(t.client.send('fail', {}))).rejects.toEqual({ status: 'error', message: 'rpc failed' });
    await t.probe.waitFor('fail:always');
    await t.tasks.onIdle();
    expect(t.handlers.seen('fail')).toEqual(['handler', 'immediate', 'always']);
    expect(t.logger.tasks('debug').map((line) => line.message)).toEqual([
      messages.droppedFailedRequest('fail:afterRoute', 'afterRoute'),
      messages.droppedFailedRequest('fail:afterResponse', 'afterResponse'),
    ]);
  });

  it('late scheduling starts a task whose moment has passed; tasks run in the async context of the handler call', async () => {
    expect(await firstValueFrom(t.client.send<boolean>('late', {}))).toBe(true);
    await t.probe.waitFor('late:late:after-the-answer');
    expect(t.handlers.seen('late')).toEqual(
      ['afterRoute:context=late', 'afterResponse:context=late', 'after-the-answer'].map((event) => `late:${event}`),
    );
  });

  it('awaits at close a shielded task that a handler started', async () => {
    expect(await firstValueFrom(t.client.send<boolean>('startShielded', {}))).toBe(true);
    await t.probe.waitFor('startShielded:shielded-start');
    let closed = false;
    const closing = t.close().then(() => (closed = true));
    await t.logger.waitForLine(messages.shutdownWaiting(1, DEFAULT_SHUTDOWN_TIMEOUT));
    expect(closed).toBe(false);
    t.handlers.hold.open();
    await closing;
    expect(t.probe.has('startShielded:shielded-end')).toBe(true);
  });
});
