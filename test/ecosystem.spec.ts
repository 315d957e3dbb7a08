import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, type LoggerService } from '@nestjs/common';
import { ClsModule, ClsService } from 'nestjs-cls';
import { TasksService } from '../lib/index.js';
import { messages } from '../lib/tasks.messages.js';
import { abandonableGet } from './app/client.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Probe, gate } from './app/probe.js';

const held = { gate: gate() };

@Controller('cls')
class ClsController {
  constructor(
    private readonly tasks: TasksService,
    private readonly cls: ClsService,
    private readonly probe: Probe,
  ) {}

  private read(mode: string) {
    return () => this.probe.record(`${mode}:${this.cls.get<string>('requestId')}`);
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
    this.probe.record('abandoned:entered');
    await held.gate.promise;
    return { ok: true };
  }
}

const clsModule = ClsModule.forRoot({
  global: true,
  middleware: {
    mount: true,
    setup: (cls: ClsService, request: { headers: Record<string, string | undefined> }) =>
      cls.set('requestId', request.headers['x-request-id']),
  },
});

describe.each(adapters)('with nestjs-cls on %s', (adapter) => {
  let t: TestApp;
  afterEach(() => t.app.close());

  it('reads the request CLS value inside tasks of every mode', async () => {
    t = await startApp(adapter, { imports: [clsModule], controllers: [ClsController], providers: [Probe] });
    await t.http.get('/cls').set('x-request-id', 'cls-7').expect(200);
    await t.tasks.onIdle();
    expect(t.get(Probe).events.sort()).toEqual(['afterResponse:cls-7', 'afterRoute:cls-7', 'immediate:cls-7']);
  });

  it('reads it in an afterResponse task of a request whose client went away', async () => {
    t = await startApp(adapter, { imports: [clsModule], controllers: [ClsController], providers: [Probe] });
    held.gate = gate();
    const client = abandonableGet(`${t.url}/cls/abandoned`, { 'x-request-id': 'cls-gone' });
    await t.get(Probe).waitFor('abandoned:entered');
    client.abandon();
    held.gate.open();
    await t.get(Probe).waitFor('abandoned:cls-gone');
  });
});

describe.each(adapters)('with a custom logger (app.useLogger) on %s', (adapter) => {
  it('sends task logs to the app logger, in its format', async () => {
    const lines: string[] = [];
    const custom: LoggerService = {
      log: () => undefined,
      warn: () => undefined,
      error: (message: unknown, ...rest: unknown[]) =>
        lines.push(`custom|error|${String(rest.at(-1))}|${String(message)}`),
    };
    @Controller('logged')
    class LoggedController {
      constructor(private readonly tasks: TasksService) {}
      @Get()
      handle() {
        this.tasks.task({ name: 'reported' }).schedule(() => Promise.reject(new Error('boom')));
        return { ok: true };
      }
    }
    const t = await startApp(adapter, { controllers: [LoggedController] });
    t.app.useLogger(custom);
    await t.http.get('/logged').expect(200);
    await t.tasks.onIdle();
    await t.app.close();
    expect(lines).toEqual([`custom|error|Tasks|${messages.taskFailed('reported', new Error('boom'))}`]);
  });
});
