import { Controller, Get, Res } from '@nestjs/common';
import { once } from 'node:events';
import { TasksService } from '../../lib/index.js';
import { Probe } from './probe.js';

/** Routes for an HTTP/2 server, whose raw responses (`Http2ServerResponse`) have no `closed`. */
@Controller('h2')
export class H2Controller {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  /** One task per mode; the afterResponse task schedules another afterResponse task, late. */
  @Get('modes')
  modes() {
    this.tasks.task({ name: 'immediate' }).schedule(() => this.probe.record('immediate'));
    this.tasks.afterRoute.task({ name: 'afterRoute' }).schedule(() => this.probe.record('afterRoute'));
    this.tasks.afterResponse.task({ name: 'afterResponse' }).schedule(() => {
      this.probe.record('afterResponse');
      this.tasks.afterResponse.task({ name: 'late' }).schedule(() => this.probe.record('late'));
    });
    return { ok: true };
  }

  /**
   * The request's first deferred task is scheduled after its response closed (from an immediate
   * task): nothing listened for `close` before, so whether the response has closed is read from it.
   */
  @Get('late')
  late(@Res({ passthrough: true }) reply: { raw: NodeJS.EventEmitter }) {
    const closed = once(reply.raw, 'close');
    this.tasks.task({ name: 'waits-for-close' }).schedule(async () => {
      await closed;
      this.probe.record('response:closed');
      this.tasks.afterResponse.task({ name: 'late-first' }).schedule(() => this.probe.record('late-first'));
    });
    return { ok: true };
  }
}
