import { Controller, HttpException, Injectable, Param, Post, Res } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Task, TasksService, type TaskMode } from '../../lib/index.js';
import { currentDurableTask } from '../../lib/bullmq/index.js';
import { Probe } from './probe.js';

/** What one attempt of a durable job saw on the worker. */
export interface Run {
  self: boolean;
  args: unknown[];
  name?: string;
  jobId?: string;
  attempt?: number;
  mode?: TaskMode;
  at: number;
}

/** Shared by the fixtures of one test: runs, errors, and a probe to wait on. */
export const durable = {
  probe: new Probe(),
  runs: [] as Run[],
  errors: [] as { name: string; error: unknown; attempt: number; jobId?: string }[],
  /** Set by a test: how many jobs its queue holds, read by the handler before it returns. */
  countJobs: async (): Promise<number> => -1,
  reset() {
    this.probe = new Probe();
    this.runs = [];
    this.errors = [];
  },
};

const onError = (task: { name: string; attempt: number; jobId?: string }, error: unknown) => {
  durable.errors.push({ name: task.name, error, attempt: task.attempt, jobId: task.jobId });
  durable.probe.record(`onError:${task.name}`);
};

/** A singleton provider with durable @Task methods. */
@Injectable()
export class Receipts {
  readonly marker = 'receipts';

  @Task({ name: 'send_receipt', durable: true })
  async sendReceipt(orderId: string, details?: { total: number; at: Date }) {
    this.record(orderId, details);
    durable.probe.record(`ran:${orderId}`);
  }

  @Task({ name: 'doomed', durable: true, retry: { attempts: 3, delay: 100, backoff: 'fixed' }, onError })
  async doomed(orderId: string) {
    this.record(orderId);
    throw new Error(`doomed ${orderId}`);
  }

  @Task({ name: 'slow', durable: true, timeout: 150, retry: { attempts: 2, delay: 10, backoff: 'fixed' }, onError })
  async slow(orderId: string) {
    this.record(orderId);
    const signal = currentDurableTask()!.signal;
    await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
  }

  @Task({ name: 'local' })
  local() {}

  private record(...args: unknown[]) {
    const task = currentDurableTask();
    durable.runs.push({
      self: this instanceof Receipts && this.marker === 'receipts',
      args: args.filter((arg) => arg !== undefined),
      name: task?.name,
      jobId: task?.jobId,
      attempt: task?.attempt,
      mode: task?.mode,
      at: Date.now(),
    });
  }
}

@Controller('durable')
export class DurableController {
  constructor(
    private readonly tasks: TasksService,
    private readonly receipts: Receipts,
  ) {}

  /** Schedules two durable afterResponse tasks, one `always`, then fails (declared first: Express matches in order). */
  @Post('fail/:id')
  fail(@Param('id') id: string) {
    this.tasks.afterResponse.call(this.receipts, 'sendReceipt', `${id}-dropped`);
    this.tasks.afterResponse.task({ always: true }).schedule(this.receipts.sendReceipt, `${id}-always`);
    throw new HttpException('refused', 409);
  }

  /** Schedules one durable task in `mode`; says what had happened by the end of the handler. */
  @Post(':mode/:id')
  async schedule(
    @Param('mode') mode: TaskMode,
    @Param('id') id: string,
    @Res({ passthrough: true }) res: { raw?: unknown },
  ) {
    const scheduler = mode === 'immediate' ? this.tasks : this.tasks[mode];
    const task = scheduler.call(this.receipts, 'sendReceipt', id);
    const response = (res.raw ?? res) as { once(event: 'finish', listener: () => void): void };
    response.once('finish', () => durable.probe.record(`finish:${id}:attempt=${task.attempt}`));
    // A macrotask turn: an immediate task has started by then, a deferred one must not have.
    await new Promise((resolve) => setImmediate(resolve));
    durable.probe.record(`handler:${id}:attempt=${task.attempt}:stored=${await durable.countJobs()}`);
    return { id };
  }
}

/** Jobs in the queue by name, args (decoded as stored) and state. */
export async function jobsIn(queue: Queue): Promise<{ name: string; args: unknown; id?: string }[]> {
  const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed']);
  return jobs.map((job) => ({ name: job.name, args: (job.data as { args: unknown }).args, id: job.id }));
}
