import { Injectable } from '@nestjs/common';
import { Task } from 'nestjs-tasks';
import { currentDurableTask } from 'nestjs-tasks/bullmq';
import { work } from './work.js';

/** Loaded only with REDIS_URL (through receipts.module.ts), like nestjs-tasks/bullmq itself. */
@Injectable()
export class Receipts {
  /** Durable: handed to Redis after the response, then run by a worker, at least once. */
  @Task({ name: 'send_receipt', durable: true, retry: { attempts: 3, backoff: 'exponential', delay: 500 } })
  async sendReceipt(orderId: string): Promise<void> {
    // The job id is the same on every attempt and after a crash: the mail provider's idempotency key.
    const job = currentDurableTask(); // set while a worker runs the job
    await work(`send_receipt ${orderId} (job ${job?.jobId ?? 'none'}, attempt ${job?.attempt ?? 1})`, 1000);
  }
}
