/**
 * The durable task of the crash tests, shared by the child processes (compiled by `npm test`'s
 * `pretest`) and the Jest process that hands jobs off: one module per role, the same provider.
 */
import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { appendFileSync } from 'node:fs';
import { setTimeout as pause } from 'node:timers/promises';
import { Task, TasksModule } from '../../lib/index.js';
import { DurableTasksModule, currentDurableTask, type DurableWorkerOptions } from '../../lib/bullmq/index.js';

/** The task's name: workers find the method by it. */
export const CRASH_JOB = 'crash_job';

/**
 * One record line, appended synchronously so that a SIGKILL cannot lose it once written:
 * `start|done <id> <jobId> <attempt> <pid> <epoch ms>`.
 */
export interface JobRecord {
  kind: 'start' | 'done';
  id: string;
  jobId: string;
  attempt: number;
  pid: number;
  at: number;
}

export const parseRecords = (text: string): JobRecord[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [kind, id, jobId, attempt, pid, at] = line.split(' ');
      const numbers = { attempt: Number(attempt), pid: Number(pid), at: Number(at) };
      return { kind: kind as JobRecord['kind'], id: id!, jobId: jobId!, ...numbers };
    });

/** A tiny job: records its start, waits JOB_MS × 0.5–1.5 ms, records that it is done. */
@Injectable()
export class CrashJobs {
  @Task({ name: CRASH_JOB, durable: true })
  async run(id: string): Promise<void> {
    const { jobId, attempt } = currentDurableTask()!;
    const record = (kind: JobRecord['kind']) =>
      appendFileSync(process.env.RECORD_FILE!, `${kind} ${id} ${jobId} ${attempt} ${process.pid} ${Date.now()}\n`);
    record('start');
    await pause(Number(process.env.JOB_MS ?? 0) * (0.5 + Math.random()));
    record('done');
  }
}

/** TasksModule and DurableTasksModule on one queue, with the provider of the durable task. */
export function crashModule(options: {
  redisPort: number;
  queue: string;
  worker: false | DurableWorkerOptions;
  shutdownTimeout: number;
}): DynamicModule {
  @Module({})
  class CrashModule {}
  return {
    module: CrashModule,
    imports: [
      TasksModule.forRoot({ shutdownTimeout: options.shutdownTimeout }),
      DurableTasksModule.forRoot({
        connection: { host: '127.0.0.1', port: options.redisPort },
        queue: options.queue,
        worker: options.worker,
      }),
    ],
    providers: [CrashJobs],
    exports: [CrashJobs],
  };
}
