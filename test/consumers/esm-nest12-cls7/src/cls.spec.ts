import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, type INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { ClsModule, ClsService } from 'nestjs-cls';
import { TasksModule, TasksService } from 'nestjs-tasks';
import { request } from 'node:http';

/** Events in order; `waitFor` resolves when one is recorded, or rejects after `ms`. */
@Injectable()
class Journal {
  readonly events: string[] = [];
  private readonly waiters: { event: string; resolve: () => void }[] = [];

  record(event: string): void {
    this.events.push(event);
    for (const waiter of this.waiters.filter((w) => w.event === event)) waiter.resolve();
  }

  waitFor(event: string, ms = 5000): Promise<void> {
    if (this.events.includes(event)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for "${event}": ${this.events}`)), ms);
      this.waiters.push({ event, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

const held: { open: () => void; promise: Promise<void> } = { open: () => undefined, promise: Promise.resolve() };

@Controller('cls')
class ClsController {
  constructor(
    private readonly tasks: TasksService,
    private readonly cls: ClsService,
    private readonly journal: Journal,
  ) {}

  private read(mode: string) {
    return () => this.journal.record(`${mode}:${this.cls.get<string>('requestId')}`);
  }

  @Get()
  handle() {
    this.tasks.schedule(this.read('immediate'));
    this.tasks.afterRoute.schedule(this.read('afterRoute'));
    this.tasks.afterResponse.schedule(this.read('afterResponse'));
    return { ok: true };
  }

  @Get('abandoned')
  async abandoned() {
    this.tasks.afterResponse.schedule(this.read('abandoned'));
    this.journal.record('abandoned:entered');
    await held.promise;
    return { ok: true };
  }
}

@Module({
  imports: [
    TasksModule.forRoot(),
    ClsModule.forRoot({
      global: true,
      middleware: {
        mount: true,
        setup: (cls: ClsService, req: { headers: Record<string, string | undefined> }) =>
          cls.set('requestId', req.headers['x-request-id']),
      },
    }),
  ],
  controllers: [ClsController],
  providers: [Journal],
})
class ClsAppModule {}

const adapters = { express: () => new ExpressAdapter(), fastify: () => new FastifyAdapter() };

describe.each(Object.keys(adapters) as (keyof typeof adapters)[])('nestjs-cls 7 on Nest 12 with %s', (name) => {
  let app: INestApplication;
  let url: string;
  afterEach(async () => {
    held.open();
    await app.close();
  });

  const startApp = async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ClsAppModule] }).compile();
    app = moduleRef.createNestApplication(adapters[name]());
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  };

  it('reads the request CLS value inside tasks of every mode', async () => {
    await startApp();
    const response = await fetch(`${url}/cls`, { headers: { 'x-request-id': 'cls-7' } });
    expect(response.status).toBe(200);
    await app.get(TasksService).onIdle();
    expect([...app.get(Journal).events].sort()).toEqual(['afterResponse:cls-7', 'afterRoute:cls-7', 'immediate:cls-7']);
  });

  it('reads it in an afterResponse task of a request whose client went away', async () => {
    await startApp();
    held.promise = new Promise<void>((resolve) => (held.open = resolve));
    const journal = app.get(Journal);
    const client = request(`${url}/cls/abandoned`, { headers: { 'x-request-id': 'cls-gone' } });
    client.on('error', () => undefined);
    client.end();
    await journal.waitFor('abandoned:entered');
    client.destroy();
    held.open();
    await journal.waitFor('abandoned:cls-gone');
  });
});
