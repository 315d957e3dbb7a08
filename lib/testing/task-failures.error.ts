import type { TaskRecord } from './task-record.js';
import { testingMessages } from './testing.messages.js';

/**
 * What `probe.drain()` rejects with when background tasks failed or timed out: an
 * `AggregateError` whose message names each task, whose `errors` are their last errors, and whose
 * `records` are the failed tasks' records.
 *
 * @example
 * ```ts
 * await expect(probe.drain()).rejects.toThrow('"send_email" (afterResponse) failed: Error: smtp down');
 * ```
 */
export class TaskFailuresError extends AggregateError {
  override readonly name: string = this.constructor.name;

  constructor(readonly records: readonly TaskRecord[]) {
    super(
      records.map((record) => record.error),
      testingMessages.failures(records),
    );
  }
}
