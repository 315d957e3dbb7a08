import {
  type ArgumentsHost,
  BadRequestException,
  Catch,
  Controller,
  Get,
  Param,
  Query,
  Res,
  ServiceUnavailableException,
  UseFilters,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { TaskQueueFullError, TaskTimeoutError, TasksService, currentTask } from '../../lib/index.js';
import { correlation } from './context.controller.js';
import { Probe, gate } from './probe.js';
import { rawResponse } from './raw.js';

/**
 * The recipe: a full queue answers 503, so the client tries again later. It hands the 503 to
 * Nest's own filter rather than throwing it: a filter that throws leaves the request to whatever
 * catches the rejection, which Express 4 (Nest 10) does not.
 */
@Catch(TaskQueueFullError)
export class QueueFullFilter extends BaseExceptionFilter {
  override catch(error: TaskQueueFullError, host: ArgumentsHost): void {
    super.catch(new ServiceUnavailableException(error.message), host);
  }
}

/**
 * What this controller's tasks and handlers wait for, and what they measure: `task` holds task
 * bodies, `handler` holds request handlers (their deferred tasks stay pending), `slot` holds the
 * task that occupies a group's only slot. Reset by each test.
 */
export const control = { task: gate(), handler: gate(), slot: gate(), running: 0, maxRunning: 0 };

export function resetControl(): void {
  Object.assign(control, { task: gate(), handler: gate(), slot: gate(), running: 0, maxRunning: 0 });
}

/** Records `${prefix}:closed` when the response has been sent: after the library's own `close` listener. */
function recordClose(probe: Probe, prefix: string, response: unknown): ServerResponse {
  const raw = rawResponse(response);
  raw.once('close', () => probe.record(`${prefix}:closed`));
  return raw;
}

@Controller('control')
@UseFilters(QueueFullFilter)
export class ControlController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  /** An immediate task in group `reports`: one runs at a time, two may wait. */
  @Get('render/:id')
  render(@Param('id') id: string) {
    this.tasks.task({ name: 'render', group: 'reports', concurrency: 1, queueLimit: 2 }).schedule(async () => {
      this.probe.record(`render:${id}:start`);
      await control.task.promise;
      this.probe.record(`render:${id}:end`);
    });
    return { id };
  }

  /** An afterResponse task, three at a time, that measures how many run at once. */
  @Get('deliver/:id')
  deliver(@Param('id') id: string, @Res({ passthrough: true }) response: unknown) {
    this.tasks.afterResponse.task({ name: 'deliver', concurrency: 3 }).schedule(async (raw: ServerResponse) => {
      control.maxRunning = Math.max(control.maxRunning, ++control.running);
      this.probe.record(`deliver:${id}:start:sent=${raw.writableFinished}`);
      await control.task.promise;
      await new Promise((resolve) => setImmediate(resolve));
      control.running--;
    }, rawResponse(response));
    recordClose(this.probe, `deliver:${id}`, response);
    return { id };
  }

  /** An afterResponse task in group `imports` (one at a time, three may wait); `?hold` holds the handler. */
  @Get('import/:id')
  async import(
    @Param('id') id: string,
    @Query('hold') hold: string | undefined,
    @Res({ passthrough: true }) response: unknown,
  ) {
    this.tasks.afterResponse
      .task({ name: 'import', group: 'imports', concurrency: 1, queueLimit: 3 })
      .schedule(async () => {
        this.probe.record(`import:${id}:start`);
        await control.task.promise;
      });
    recordClose(this.probe, `import:${id}`, response);
    this.probe.record(`import:${id}:scheduled`);
    if (hold !== undefined) await control.handler.promise;
    return { id };
  }

  /** An immediate task that takes the only slot of `group` (concurrency 1) until `control.slot` opens. */
  @Get('occupy/:group')
  occupy(@Param('group') group: string) {
    this.tasks.task({ name: `occupy-${group}`, group, concurrency: 1 }).schedule(async () => {
      this.probe.record(`occupy-${group}:start`);
      await control.slot.promise;
    });
    return { group };
  }

  /** Schedules an afterResponse task (`?always` sets `always: true`), then fails the request. */
  @Get('notify/:id')
  notify(@Param('id') id: string, @Query('always') always: string | undefined): never {
    this.tasks.afterResponse
      .task({ name: 'notify', concurrency: 1, queueLimit: 1, always: always !== undefined })
      .schedule(() => this.probe.record(`notify:${id}:ran`));
    throw new BadRequestException('the request failed after scheduling');
  }

  /**
   * An afterResponse task (one at a time) whose first attempt outlives its 50 ms timeout, ignoring
   * its signal until `control.task` opens; the second attempt succeeds.
   */
  @Get('sync/:id')
  sync(@Param('id') id: string, @Res({ passthrough: true }) response: unknown) {
    this.tasks.afterResponse
      .task({ name: 'sync', concurrency: 1, timeout: 50, retry: { attempts: 3, delay: 10, backoff: 'fixed' } })
      .schedule(async () => {
        const task = currentTask()!;
        this.probe.record(`sync:${id}:attempt${task.attempt}:${correlation.getStore()}`);
        if (task.attempt > 1) return;
        task.signal.addEventListener('abort', () =>
          this.probe.record(`sync:${id}:timedOut=${task.signal.reason instanceof TaskTimeoutError}`),
        );
        await control.task.promise;
        this.probe.record(`sync:${id}:attempt1:end`);
      });
    recordClose(this.probe, `sync:${id}`, response);
    return { id };
  }
}
