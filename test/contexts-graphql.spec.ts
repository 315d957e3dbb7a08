import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { messages } from '../lib/core/tasks.messages.js';
import { DEFAULT_SHUTDOWN_TIMEOUT } from '../lib/core/tasks.constants.js';
import { graphqlDrivers, OrderResolver, type GraphqlBody } from './app/contexts/graphql.js';
import { HandlerProbe, handlerProbeProviders } from './app/contexts/handler-probe.js';
import { startApp, type TestApp } from './app/harness.js';
import { Probe } from './app/probe.js';

const LATE = ['afterRoute:context=late', 'afterResponse:context=late', 'after-the-answer'];

describe.each(graphqlDrivers)('GraphQL resolvers over HTTP with $driver on $adapter', ({ adapter, module }) => {
  let t: TestApp;
  let probe: Probe;

  beforeEach(async () => {
    t = await startApp(adapter, { imports: [module()], providers: [...handlerProbeProviders, OrderResolver] });
    probe = t.get(Probe);
  });
  afterEach(() => t.app.close());

  async function graphql(query: string): Promise<GraphqlBody> {
    const response = await t.http.post('/graphql').send({ query }).expect(200);
    return response.body as GraphqlBody;
  }

  it('answers a query, and the resolver runs an immediate task', async () => {
    expect(await graphql('{ hello }')).toEqual({ data: { hello: 'world' } });
    await probe.waitFor('hello:immediate');
    expect(probe.events).toContain('hello:handler');
  });

  it('answers a mutation with both kinds of field resolver, each running an immediate task', async () => {
    const body = await graphql('mutation { placeOrder(id: 7) { id receipt status } }');
    expect(body).toEqual({ data: { placeOrder: { id: 7, receipt: 'receipt-7', status: 'placed' } } });
    for (const name of ['placeOrder', 'receipt', 'status']) await probe.waitFor(`${name}:immediate`);
  });

  it('answers 200 with the error of a throwing resolver, whose immediate task still runs', async () => {
    const body = await graphql('{ fail }');
    expect(body.data).toEqual({ fail: null });
    expect(body.errors).toEqual([expect.objectContaining({ message: 'resolver failed', path: ['fail'] })]);
    await probe.waitFor('fail:immediate');
  });

  it('answers two resolvers of one operation, one failing, with one response', async () => {
    const body = await graphql('{ hello fail }');
    expect(body.data).toEqual({ hello: 'world', fail: null });
    expect(body.errors?.map((error) => error.path)).toEqual([['fail']]);
    await probe.waitFor('hello:immediate');
    await probe.waitFor('fail:immediate');
  });

  it('runs the three modes of each resolver in order; afterResponse once the HTTP response has finished', async () => {
    await graphql('mutation { placeOrder(id: 7) { id receipt status } }');
    await t.tasks.onIdle();
    const handlers = t.get(HandlerProbe);
    expect(handlers.seen('placeOrder')).toEqual([
      'handler',
      'immediate',
      'afterRoute',
      'afterResponse:finished=true',
      'always',
    ]);
    for (const name of ['receipt', 'status']) {
      expect(handlers.seen(name)).toEqual(['handler', 'immediate', 'afterRoute', 'afterResponse', 'always']);
    }
    expect(t.logger.tasks('debug')).toEqual([]);
  });

  it('a failing resolver drops its deferred tasks (always ones run); its sibling in the operation is not failed', async () => {
    await graphql('{ hello fail }');
    await t.tasks.onIdle();
    const handlers = t.get(HandlerProbe);
    expect(handlers.seen('hello')).toEqual(['handler', 'immediate', 'afterRoute', 'afterResponse', 'always']);
    expect(handlers.seen('fail')).toEqual(['handler', 'immediate', 'always']);
    expect(t.logger.tasks('debug').map((line) => line.message)).toEqual([
      messages.droppedFailedRequest('fail:afterRoute', 'afterRoute'),
      messages.droppedFailedRequest('fail:afterResponse', 'afterResponse'),
    ]);
  });

  it('late scheduling starts a task whose moment has passed; tasks run in the async context of the resolver call', async () => {
    expect(await graphql('{ late }')).toEqual({ data: { late: true } });
    await t.tasks.onIdle();
    expect(t.get(HandlerProbe).seen('late')).toEqual(LATE.map((event) => `late:${event}`));
  });

  it('awaits at close a shielded task that a resolver started', async () => {
    expect(await graphql('mutation { startShielded }')).toEqual({ data: { startShielded: true } });
    await probe.waitFor('startShielded:shielded-start');
    let closed = false;
    const closing = t.app.close().then(() => (closed = true));
    await t.logger.waitForLine(messages.shutdownWaiting(1, DEFAULT_SHUTDOWN_TIMEOUT));
    expect(closed).toBe(false);
    t.get(HandlerProbe).hold.open();
    await closing;
    expect(probe.has('startShielded:shielded-end')).toBe(true);
  });
});
