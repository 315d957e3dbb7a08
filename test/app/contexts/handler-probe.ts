import { Injectable } from '@nestjs/common';
import { TasksService } from '../../../lib/index.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Probe, gate } from '../probe.js';

/** A value set by one handler call, as request-context libraries (nestjs-cls) set theirs. */
const callContext = new AsyncLocalStorage<{ name: string }>();

/**
 * What every context fixture's handler does: records that it ran and schedules an immediate
 * task that records its own run, so a spec can wait for both with bounded timeouts.
 */
@Injectable()
export class HandlerProbe {
  /** Holds the shielded task started by {@link ranShielded} until a spec opens it. */
  readonly hold = gate();

  constructor(
    readonly tasks: TasksService,
    readonly probe: Probe,
  ) {}

  /**
   * `${name}:handler` now, then as each task runs: `${name}:immediate`, `${name}:afterRoute`,
   * `${name}:afterResponse` (with `:finished=…` when the HTTP response is given) and
   * `${name}:always` (an afterResponse task with `always: true`).
   */
  ran(name: string, response?: { writableFinished: boolean }): void {
    this.probe.record(`${name}:handler`);
    const record = (event: string) => () => this.probe.record(event);
    this.tasks.task({ name: `${name}:immediate` }).schedule(record(`${name}:immediate`));
    this.tasks.afterRoute.task({ name: `${name}:afterRoute` }).schedule(record(`${name}:afterRoute`));
    this.tasks.afterResponse
      .task({ name: `${name}:afterResponse` })
      .schedule(() =>
        this.probe.record(
          response === undefined
            ? `${name}:afterResponse`
            : `${name}:afterResponse:finished=${response.writableFinished}`,
        ),
      );
    this.tasks.afterResponse.task({ name: `${name}:always`, always: true }).schedule(record(`${name}:always`));
  }

  /**
   * Late scheduling and async context: in the context of a value only this call sets, an
   * afterRoute task schedules an afterResponse task (queued until the answer), which schedules
   * another (its moment has passed: it starts at once). Records `${name}:late:…` events.
   */
  ranLate(name: string): void {
    const record = (event: string) => this.probe.record(`${name}:late:${event}`);
    callContext.run({ name }, () => {
      this.tasks.afterRoute.schedule(() => {
        record(`afterRoute:context=${callContext.getStore()?.name}`);
        this.tasks.afterResponse.schedule(() => {
          record(`afterResponse:context=${callContext.getStore()?.name}`);
          this.tasks.afterResponse.schedule(() => record('after-the-answer'));
        });
      });
    });
  }

  /** The events recorded for `name`, in order, without the `${name}:` prefix. */
  seen(name: string): string[] {
    return this.probe.events
      .filter((event) => event.startsWith(`${name}:`))
      .map((event) => event.slice(name.length + 1));
  }

  /**
   * Schedules a shielded afterResponse task that waits for `hold`: a deferred task in flight
   * when shutdown begins, which shutdown must await.
   */
  ranShielded(name: string): void {
    this.probe.record(`${name}:handler`);
    this.tasks.afterResponse.task({ name, shield: true }).schedule(async () => {
      this.probe.record(`${name}:shielded-start`);
      await this.hold.promise;
      this.probe.record(`${name}:shielded-end`);
    });
  }
}

/** Providers every context fixture needs next to its handlers. */
export const handlerProbeProviders = [Probe, HandlerProbe];
