import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { TasksStats } from '../control/task-groups.js';
import { TasksError } from '../core/tasks.errors.js';
import { TasksService } from '../module/tasks.service.js';
import { healthMessages } from './health.messages.js';

/** The limits past which {@link TasksHealthIndicator.isHealthy} reports down. Each is off when undefined. */
export interface TasksHealthLimits {
  /** The most tasks waiting for a concurrency slot (`stats().queued`). */
  readonly maxQueued?: number;
  /** The most tasks running (`stats().running`). */
  readonly maxRunning?: number;
  /**
   * The highest share, from 0 to 1, of the tasks that settled since this key's previous check
   * which failed or timed out (dropped and aborted ones are not counted either way).
   */
  readonly maxFailedRatio?: number;
}

/** What the indicator reports under its key, up or down (a type, so that it fits terminus's `Record<string, any>`). */
export type TasksHealthData = {
  readonly running: number;
  readonly queued: number;
  readonly pending: number;
  readonly retrying: number;
  /** Failed and timed-out tasks since start-up. */
  readonly failed: number;
  readonly shuttingDown: boolean;
  /** With `maxFailedRatio`: the share of failures among the tasks settled since the previous check. */
  readonly failedRatio?: number;
  /** When down: each reason, joined by `; `. */
  readonly message?: string;
};

interface Settled {
  ok: number;
  failed: number;
}

/**
 * A `@nestjs/terminus` health indicator for the task backlog: down once shutdown has begun, or
 * when a limit is passed. Provide it in the module that imports `TerminusModule`.
 *
 * @example
 * ```ts
 * @Get('health')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.tasks.isHealthy('tasks', { maxQueued: 1000, maxFailedRatio: 0.5 })]);
 * }
 * ```
 */
@Injectable()
export class TasksHealthIndicator {
  /** Per key, the settled counts at the previous check: the window of `maxFailedRatio`. */
  private readonly previous = new Map<string, Settled>();

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly tasks: TasksService,
  ) {}

  /**
   * Reports running, queued, pending, retrying and failed counts and `shuttingDown` under `key`;
   * down while shutdown drains or when a limit is passed.
   *
   * @throws {TasksError} at once for a limit that is not a number >= 0 (a ratio above 1)
   */
  isHealthy<const Key extends string>(key: Key, limits: TasksHealthLimits = {}): HealthIndicatorResult<Key> {
    assertLimits(limits);
    const stats = this.tasks.stats();
    const reasons: string[] = [];
    if (stats.shuttingDown) reasons.push(healthMessages.shuttingDown());
    checkLimit(reasons, 'queued', stats.queued, limits.maxQueued);
    checkLimit(reasons, 'running', stats.running, limits.maxRunning);
    let failedRatio: number | undefined;
    if (limits.maxFailedRatio !== undefined) {
      failedRatio = this.failedRatioSinceLastCheck(key, stats);
      checkLimit(reasons, 'failedRatio', failedRatio, limits.maxFailedRatio);
    }
    const data: TasksHealthData = {
      running: stats.running,
      queued: stats.queued,
      pending: stats.pending,
      retrying: stats.retrying,
      failed: stats.failed + stats.timedOut,
      shuttingDown: stats.shuttingDown,
      ...(failedRatio === undefined ? {} : { failedRatio }),
    };
    const session = this.indicator.check(key);
    return reasons.length === 0 ? session.up(data) : session.down({ ...data, message: reasons.join('; ') });
  }

  private failedRatioSinceLastCheck(key: string, stats: TasksStats): number {
    const now = { ok: stats.succeeded, failed: stats.failed + stats.timedOut };
    const before = this.previous.get(key) ?? { ok: 0, failed: 0 };
    this.previous.set(key, now);
    const failed = now.failed - before.failed;
    const settled = failed + now.ok - before.ok;
    return settled === 0 ? 0 : failed / settled;
  }
}

function checkLimit(reasons: string[], what: string, value: number, limit: number | undefined): void {
  if (limit !== undefined && value > limit) reasons.push(healthMessages.overLimit(what, value, limit));
}

function assertLimits(limits: TasksHealthLimits): void {
  for (const name of ['maxQueued', 'maxRunning'] as const) {
    const value: unknown = limits[name];
    if (value !== undefined && !(typeof value === 'number' && value >= 0)) {
      throw new TasksError(healthMessages.badLimit(name, value));
    }
  }
  const ratio: unknown = limits.maxFailedRatio;
  if (ratio !== undefined && !(typeof ratio === 'number' && ratio >= 0 && ratio <= 1)) {
    throw new TasksError(healthMessages.badRatio(ratio));
  }
}
