import { Controller, Get, MessageEvent, Res, Sse, StreamableFile } from '@nestjs/common';
import { Readable } from 'node:stream';
import { interval, map, take, type Observable } from 'rxjs';
import { TasksService } from '../../lib/index.js';
import { Probe, gate } from './probe.js';
import { rawResponse } from './raw.js';

/** Tasks that the response must not wait for; a test opens the gate. */
export const held = { gate: gate() };

/** Routes that show when each timing mode starts. */
@Controller('timing')
export class TimingController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  private mark(event: string) {
    return () => this.probe.record(event);
  }

  @Get('sync')
  sync() {
    this.tasks.afterResponse.schedule(this.mark('start:C1'));
    this.tasks.afterRoute.schedule(this.mark('start:B1'));
    this.tasks.schedule(this.mark('start:A1'));
    this.tasks.afterResponse.schedule(this.mark('start:C2'));
    this.tasks.afterRoute.schedule(this.mark('start:B2'));
    this.tasks.schedule(this.mark('start:A2'));
    this.probe.record('handler:return');
    return { ok: true };
  }

  @Get('async')
  async async() {
    this.tasks.afterRoute.schedule(this.mark('start:B'));
    this.tasks.afterResponse.schedule(this.mark('start:C'));
    this.tasks.schedule(this.mark('start:A'));
    await new Promise((resolve) => setImmediate(resolve));
    this.probe.record('handler:return');
    return { ok: true };
  }

  @Get('not-in-schedule-call')
  notInScheduleCall() {
    let ran = false;
    this.tasks.schedule(() => {
      ran = true;
      this.probe.record('immediate:ran');
    });
    this.probe.record(ran ? 'ran:inside-call' : 'ran:later');
    return { ok: true };
  }

  @Get('immediate-while-awaiting')
  async immediateWhileAwaiting() {
    this.tasks.schedule(async () => {
      this.probe.record('task:started');
      await new Promise((resolve) => setImmediate(resolve));
    });
    await this.probe.waitFor('task:started', 2000);
    this.probe.record('handler:saw-task');
    return { started: true };
  }

  @Get('sync-and-async')
  syncAndAsync() {
    this.tasks.schedule((value: number) => this.probe.record(`sync:${value}`), 1);
    this.tasks.schedule(async (value: string) => {
      await Promise.resolve();
      this.probe.record(`async:${value}`);
    }, 'two');
    return { ok: true };
  }

  @Get('held')
  heldTasks() {
    const wait = async (name: string) => {
      this.probe.record(`held:${name}:start`);
      await held.gate.promise;
      this.probe.record(`held:${name}:end`);
    };
    this.tasks.schedule(wait, 'A');
    this.tasks.afterRoute.schedule(wait, 'B');
    this.tasks.afterResponse.schedule(wait, 'C');
    return { ok: true };
  }

  @Get('json')
  json(@Res({ passthrough: true }) response: unknown) {
    this.recordFinishedAtStart('json', response);
    return { kind: 'json' };
  }

  @Get('file')
  file(@Res({ passthrough: true }) response: unknown) {
    this.recordFinishedAtStart('file', response);
    return new StreamableFile(Readable.from(['chunk-1,', 'chunk-2,', 'chunk-3']));
  }

  @Sse('sse')
  sse(@Res({ passthrough: true }) response: unknown): Observable<MessageEvent> {
    this.recordFinishedAtStart('sse', response);
    return interval(5).pipe(
      take(3),
      map((index) => ({ data: { index } })),
    );
  }

  @Get('manual')
  manual(@Res() response: { send(body: string): unknown }) {
    this.recordFinishedAtStart('manual', response);
    setImmediate(() => response.send('manual body'));
  }

  private recordFinishedAtStart(kind: string, response: unknown) {
    const raw = rawResponse(response);
    this.tasks.afterRoute.schedule(() => this.probe.record(`${kind}:afterRoute`));
    this.tasks.afterResponse.schedule(() =>
      this.probe.record(`${kind}:afterResponse:finished=${raw.writableFinished}`),
    );
  }
}
