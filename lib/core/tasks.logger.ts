import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import type { Task } from './task.js';
import { LOGGER_CONTEXT } from './tasks.constants.js';
import { stackOf } from './tasks.messages.js';

/**
 * How log lines are written: `'text'` — a readable string (and the stack as the next argument),
 * as Nest's `ConsoleLogger` expects; `'object'` — a {@link TaskLogRecord} whose fields a
 * structured logger (nestjs-pino, winston) keeps; `'auto'` — text for Nest's own `ConsoleLogger`,
 * objects for any other logger the app installed.
 */
export type LogFormat = 'auto' | 'text' | 'object';

/** What a line is about: the task, how it ended (or what happens to it), the error. */
export interface LogDetails {
  readonly task?: Task;
  readonly outcome?: string;
  readonly error?: unknown;
  /** Other fields of lines that are not about one task (the drain). */
  readonly fields?: Record<string, unknown>;
}

/**
 * A log line as an object: `msg` holds the readable text, the other fields say which task and
 * what happened. `String(record)` is the text, so a logger that expects strings still prints it.
 */
export class TaskLogRecord {
  readonly msg: string;
  readonly task?: string;
  readonly mode?: string;
  readonly attempt?: number;
  readonly group?: string;
  readonly outcome?: string;
  readonly err?: unknown;

  constructor(msg: string, details: LogDetails) {
    this.msg = msg;
    const { task, outcome, error, fields } = details;
    if (task !== undefined) {
      this.task = task.name;
      this.mode = task.mode;
      this.attempt = task.attempt;
      this.group = task.group;
    }
    if (outcome !== undefined) this.outcome = outcome;
    if (error !== undefined) this.err = error;
    if (fields !== undefined) Object.assign(this, fields);
  }

  toString(): string {
    return this.msg;
  }
}

type Level = 'debug' | 'log' | 'warn' | 'error';

/** Writes nestjs-tasks' lines through Nest's `Logger` (context `Tasks`), as text or as records. */
export class TasksLogger {
  private readonly logger = new Logger(LOGGER_CONTEXT);

  constructor(private readonly format: LogFormat = 'auto') {}

  /**
   * Never throws: neither a broken logger nor a thrown value that cannot be printed may keep a
   * task from settling. Message and details are built inside the guard, and only when written.
   */
  write(level: Level, message: () => string, details?: () => LogDetails): void {
    try {
      const detail = details?.() ?? {};
      if (this.structured()) {
        this.logger[level](new TaskLogRecord(message(), detail));
        return;
      }
      const trace = level === 'error' ? stackOf(detail.error) : undefined;
      if (trace === undefined) this.logger[level](message());
      else this.logger[level](message(), trace);
    } catch {
      // Nothing left to report to.
    }
  }

  private structured(): boolean {
    if (this.format !== 'auto') return this.format === 'object';
    const current = (Logger as unknown as { staticInstanceRef?: LoggerService }).staticInstanceRef;
    if (current === undefined || current instanceof ConsoleLogger) return false;
    // A plain `new Logger()` given as the app's logger prints through a ConsoleLogger too.
    return !(current instanceof Logger && Object.getPrototypeOf(current) === Logger.prototype);
  }
}
