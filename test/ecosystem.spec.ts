import { describe, expect, it } from '@jest/globals';
import { Controller, Get, type LoggerService } from '@nestjs/common';
import { TasksService } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import { adapters, startApp } from './app/harness.js';

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
