import { afterEach, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { TasksError, TasksModule, TasksService } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Probe } from './app/probe.js';

type Send = (body: unknown) => void;

/** Schedules on a route Nest never sees, the way a raw server route does. */
function rawRoute(tasks: TasksService, probe: Probe, always: boolean, send: Send): void {
  try {
    tasks.afterResponse.task({ name: 'raw', always }).schedule(() => probe.record('raw:ran'));
    send({ scheduled: true });
  } catch (error) {
    send({ error: (error as Error).message });
  }
}

describe.each(adapters)('a request no Nest handler tracks, on %s', (adapter) => {
  let t: TestApp;
  afterEach(() => t.app.close());

  const start = (always: boolean) =>
    startApp(adapter, {
      providers: [Probe],
      beforeListen: (app) => {
        const tasks = app.get(TasksService);
        const probe = app.get(Probe);
        const server = app.getHttpAdapter().getInstance() as {
          get(path: string, handler: (request: unknown, response: unknown) => unknown): void;
        };
        if (adapter === 'express') {
          server.get('/raw', (_request, response) =>
            rawRoute(tasks, probe, always, (body) => (response as { json: Send }).json(body)),
          );
        } else {
          server.get('/raw', (_request, reply) =>
            rawRoute(tasks, probe, always, (body) => (reply as { send: Send }).send(body)),
          );
        }
      },
    });

  it('throws at the call instead of queuing a task it could not place', async () => {
    t = await start(false);
    const response = await t.http.get('/raw').expect(200);
    expect(response.body).toEqual({ error: messages.untrackedRequest('afterResponse', 'raw', 'schedule') });
    await t.tasks.onIdle();
    expect(t.get(Probe).events).toEqual([]);
  });

  it('runs an always task once the response has been sent', async () => {
    t = await start(true);
    const response = await t.http.get('/raw').expect(200);
    expect(response.body).toEqual({ scheduled: true });
    await t.tasks.onIdle();
    expect(t.get(Probe).events).toEqual(['raw:ran']);
  });
});

describe('an HTTP adapter other than Express and Fastify', () => {
  it('is refused at start-up with a message naming the supported ones', async () => {
    class CustomAdapter extends ExpressAdapter {
      override getType(): string {
        return 'custom';
      }
    }
    @Module({ imports: [TasksModule.forRoot()] })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication(new CustomAdapter(), { logger: false });
    await expect(app.init()).rejects.toThrow(new TasksError(messages.unknownAdapter('custom')));
    await app.close();
  });
});
