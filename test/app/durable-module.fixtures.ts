import { Inject, Injectable, Module, Scope, type BeforeApplicationShutdown, type DynamicModule } from '@nestjs/common';
import { Task } from '../../lib/index.js';
import { currentDurableTask } from '../../lib/bullmq/index.js';
import { Probe, gate } from './probe.js';

/** Shared by the fixtures of one test: what ran, where, and the gates that hold jobs. */
export const held = {
  probe: new Probe(),
  /** Job ids of `stubborn` runs, in order, with the worker that ran each. */
  stubbornRuns: [] as { jobId: string; attempt: number; worker: string }[],
  /** Holds the first `stubborn` run, which ignores its signal; later runs return at once. */
  stubbornGate: gate(),
  /** Holds every `patient` run until the app begins shutting down. */
  patientGate: gate(),
  /** Holds every `limited` run until the test opens it. */
  limitedGate: gate(),
  inFlight: 0,
  maxInFlight: 0,
  reset() {
    this.stubbornGate.open(); // a run a test left behind
    this.probe = new Probe();
    this.stubbornRuns = [];
    this.stubbornGate = gate();
    this.patientGate = gate();
    this.limitedGate = gate();
    this.inFlight = this.maxInFlight = 0;
  },
};

/** Which worker app a fixture instance belongs to (set through {@link WorkerName}). */
export const WORKER_NAME = Symbol('worker name');

/** Durable tasks that hold their job: to test the worker's shutdown and its concurrency. */
@Injectable()
export class Holders {
  constructor(@Inject(WORKER_NAME) private readonly worker: string) {}

  /** Its first run ignores its signal and outlives any shutdownTimeout; later runs return at once. */
  @Task({ name: 'stubborn', durable: true })
  async stubborn(): Promise<void> {
    const { jobId, attempt } = currentDurableTask()!;
    held.stubbornRuns.push({ jobId, attempt, worker: this.worker });
    held.probe.record(`stubborn:${held.stubbornRuns.length}:${this.worker}`);
    if (held.stubbornRuns.length === 1) await held.stubbornGate.promise;
  }

  /** Runs until the app begins shutting down (see {@link OpensOnShutdown}), then ends. */
  @Task({ name: 'patient', durable: true })
  async patient(id: string): Promise<void> {
    held.probe.record(`patient:started:${id}`);
    await held.patientGate.promise;
    held.probe.record(`patient:done:${id}`);
  }

  /** At most two at once in a worker, whatever `worker.concurrency` says. */
  @Task({ name: 'limited', durable: true, concurrency: 2 })
  async limited(id: number): Promise<void> {
    held.maxInFlight = Math.max(held.maxInFlight, ++held.inFlight);
    held.probe.record(`limited:started:${id}`);
    try {
      await held.limitedGate.promise;
    } finally {
      held.inFlight--;
      held.probe.record(`limited:done:${id}`);
    }
  }

  @Task({ name: 'free', durable: true })
  async free(id: string): Promise<void> {
    held.probe.record(`free:${id}`);
  }
}

/** Opens the `patient` gate once Nest has called every onModuleDestroy (the worker stops taking jobs there). */
@Injectable()
export class OpensOnShutdown implements BeforeApplicationShutdown {
  beforeApplicationShutdown(): void {
    held.probe.record('beforeApplicationShutdown');
    held.patientGate.open();
  }
}

/** A ConfigService look-alike: string settings by key, as environment variables give them. */
export class SettingsService {
  constructor(private readonly values: Readonly<Record<string, string>>) {}

  get(key: string): string | undefined {
    return this.values[key];
  }
}

/** A ConfigModule look-alike exporting {@link SettingsService}. */
@Module({})
export class SettingsModule {
  static register(values: Record<string, string>): DynamicModule {
    return {
      module: SettingsModule,
      providers: [{ provide: SettingsService, useValue: new SettingsService(values) }],
      exports: [SettingsService],
    };
  }
}

// Providers each start-up refusal is about.

@Injectable()
export class FirstDuplicate {
  @Task({ name: 'notify', durable: true })
  notify() {}
}

@Injectable()
export class SecondDuplicate {
  @Task({ name: 'notify' })
  ping() {}
}

@Injectable({ scope: Scope.REQUEST })
export class RequestScopedTasks {
  @Task({ name: 'per_request', durable: true })
  run() {}
}

@Injectable({ scope: Scope.TRANSIENT })
export class TransientTasks {
  @Task({ name: 'per_injection', durable: true })
  run() {}
}

@Injectable()
export class UnnamedTasks {
  @Task({ durable: true, retry: 3 })
  sync() {}
}
