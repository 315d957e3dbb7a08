import type { ScheduledTask } from '../core/scheduled-task.js';

/**
 * How many tasks are in each state, and how many ended each way. The live states (`pending`,
 * `queued`, `running`, `retrying`) count the tasks in them now; the outcomes count since start-up.
 * Their sum is the number of tasks scheduled.
 */
export interface TaskCounts {
  /** afterRoute/afterResponse tasks waiting for their request. */
  readonly pending: number;
  /** Tasks waiting for a concurrency slot. */
  readonly queued: number;
  /** Tasks whose function (or `onError`) is running. */
  readonly running: number;
  /** Tasks waiting for their next attempt. */
  readonly retrying: number;
  /** Tasks whose last attempt succeeded. */
  readonly succeeded: number;
  /** Tasks whose last attempt failed (other than by timing out). */
  readonly failed: number;
  /** Tasks whose last attempt timed out. */
  readonly timedOut: number;
  /** Tasks never run, or not run again: by a failed request, at shutdown, or at its deadline. */
  readonly dropped: number;
  /** Tasks stopped by the library's abort at shutdown (not failures). */
  readonly aborted: number;
}

/**
 * What `tasks.stats()` returns: the counts of all tasks, whether shutdown has begun, and the
 * counts of each group (a task's `group`, else its name).
 *
 * @example
 * ```ts
 * const { queued, running, groups } = tasks.stats();
 * metrics.gauge('email_queue', groups.send_email?.queued ?? 0);
 * ```
 */
export interface TasksStats extends TaskCounts {
  /** Whether the shutdown drain has begun: new unshielded tasks are refused. */
  readonly shuttingDown: boolean;
  /**
   * The counts per group. While more than 1,000 groups are known (names made per call, such as
   * `` `invoice_${id}` ``), a group is forgotten as soon as it has no live task: its counts stay
   * in the totals, and it starts again from zero if it is used again.
   */
  readonly groups: Readonly<Record<string, TaskCounts>>;
}

/** A task's live states and outcomes: the keys of {@link TaskCounts}. */
export type CountKey = keyof TaskCounts;

/** Mutable counters (internal). */
export class Counter implements Record<CountKey, number> {
  pending = 0;
  queued = 0;
  running = 0;
  retrying = 0;
  succeeded = 0;
  failed = 0;
  timedOut = 0;
  dropped = 0;
  aborted = 0;

  /**
   * Adds `by` to one count. A switch of named fields rather than `this[key] += by`: a computed key
   * that takes several names goes megamorphic in V8, and this runs three times per task.
   */
  add(key: CountKey, by: number): void {
    switch (key) {
      case 'pending':
        this.pending += by;
        break;
      case 'queued':
        this.queued += by;
        break;
      case 'running':
        this.running += by;
        break;
      case 'retrying':
        this.retrying += by;
        break;
      case 'succeeded':
        this.succeeded += by;
        break;
      case 'failed':
        this.failed += by;
        break;
      case 'timedOut':
        this.timedOut += by;
        break;
      case 'dropped':
        this.dropped += by;
        break;
      case 'aborted':
        this.aborted += by;
        break;
    }
  }

  live(): number {
    return this.pending + this.queued + this.running + this.retrying;
  }

  snapshot(): TaskCounts {
    const { pending, queued, running, retrying, succeeded, failed, timedOut, dropped, aborted } = this;
    return { pending, queued, running, retrying, succeeded, failed, timedOut, dropped, aborted };
  }
}

/** One group: its counters and its first-in first-out queue of tasks waiting for a slot. */
export class TaskGroup extends Counter {
  /** Waiting tasks from `head` on; earlier entries are spent. Tasks dropped while queued are skipped. */
  private queue: ScheduledTask[] = [];
  /** Each queued task's order of entry into any group's queue, for first-in first-out across groups. */
  private sequences: number[] = [];
  private head = 0;

  constructor(readonly name: string) {
    super();
  }

  push(task: ScheduledTask, sequence: number): void {
    this.queue.push(task);
    this.sequences.push(sequence);
  }

  /** The entry order of the task `peek()` returned. */
  headSequence(): number {
    return this.sequences[this.head];
  }

  /** The first task still queued, or undefined. */
  peek(): ScheduledTask | undefined {
    while (this.head < this.queue.length) {
      const task = this.queue[this.head];
      if (task.state === 'queued') return task;
      this.advance();
    }
    return undefined;
  }

  /** Removes the first task (the one `peek()` returned). */
  advance(): void {
    this.queue[this.head++] = undefined as unknown as ScheduledTask;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.sequences = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.sequences = this.sequences.slice(this.head);
      this.head = 0;
    }
  }
}

/** Groups kept: past this many, a group is forgotten as soon as it has no live task. */
const MAX_GROUPS = 1000;

/** Every group by name, and the totals: O(groups) to read, O(1) per task. */
export class TaskGroups {
  readonly total = new Counter();
  private readonly byName = new Map<string, TaskGroup>();

  get(name: string): TaskGroup {
    let group = this.byName.get(name);
    if (group === undefined) this.byName.set(name, (group = new TaskGroup(name)));
    return group;
  }

  /** Moves a task from one live count to another (or into `pending`), in its group and in the totals. */
  move(group: TaskGroup, from: CountKey | undefined, to: CountKey): void {
    if (from !== undefined) {
      group.add(from, -1);
      this.total.add(from, -1);
    }
    group.add(to, 1);
    this.total.add(to, 1);
  }

  /** Counts a task's outcome; forgets its group if it is idle and too many groups are known. */
  settle(group: TaskGroup, from: CountKey | undefined, outcome: CountKey): void {
    this.move(group, from, outcome);
    if (this.byName.size > MAX_GROUPS && group.live() === 0 && this.byName.get(group.name) === group) {
      this.byName.delete(group.name);
    }
  }

  snapshot(shuttingDown: boolean): TasksStats {
    const groups: Record<string, TaskCounts> = {};
    for (const [name, group] of this.byName) groups[name] = group.snapshot();
    return { ...this.total.snapshot(), shuttingDown, groups };
  }
}
