import { Injectable } from '@nestjs/common';
import { TasksService } from '../../../lib/index.js';
import { Probe, gate } from '../probe.js';

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

  /** `${name}:handler` now, `${name}:immediate` once the immediate task runs. */
  ran(name: string): void {
    this.probe.record(`${name}:handler`);
    this.tasks.schedule(() => this.probe.record(`${name}:immediate`));
  }

  /** Starts a shielded immediate task that waits for `hold`: what shutdown must await. */
  ranShielded(name: string): void {
    this.probe.record(`${name}:handler`);
    this.tasks.task({ name, shield: true }).schedule(async () => {
      this.probe.record(`${name}:shielded-start`);
      await this.hold.promise;
      this.probe.record(`${name}:shielded-end`);
    });
  }
}

/** Providers every context fixture needs next to its handlers. */
export const handlerProbeProviders = [Probe, HandlerProbe];
