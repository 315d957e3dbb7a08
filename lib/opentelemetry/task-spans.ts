import {
  context,
  SpanKind,
  type Attributes,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { Task } from '../core/task.js';
import type { TaskObserver, TaskOutcome } from '../core/task-observer.js';
import { describeError } from '../core/tasks.messages.js';
import { attemptOutcome } from './attempt-outcome.js';
import { TaskAttributes } from './telemetry.names.js';

/** What the spans of one task need between hooks. */
interface TaskTrace {
  /** The context where the task was scheduled: the parent of each attempt's span. */
  readonly parent: Context;
  /** The span of the attempt running now. */
  span?: Span;
}

/**
 * One span per attempt, `task <name>`, child of the span active where the task was scheduled
 * (kept even when that span has ended, as a request's span has by the time an afterResponse task
 * runs), and active while the attempt's function runs. A dropped task gets a zero-length span.
 */
export class TaskSpans implements TaskObserver {
  private readonly traces = new WeakMap<Task, TaskTrace>();

  constructor(private readonly tracer: Tracer) {}

  scheduled(task: Task): void {
    this.traces.set(task, { parent: context.active() });
  }

  around(task: Task, run: () => unknown): unknown {
    const state = this.traceOf(task);
    const span = this.start(task, state.parent);
    state.span = span;
    return context.with(trace.setSpan(state.parent, span), run);
  }

  attemptEnded(task: Task, error: unknown, timedOut: boolean): void {
    const state = this.traces.get(task);
    const span = state?.span;
    if (state === undefined || span === undefined) return;
    state.span = undefined;
    const outcome = attemptOutcome(task, error, timedOut);
    span.setAttribute(TaskAttributes.outcome, outcome);
    if (outcome !== 'ok') {
      if (outcome !== 'aborted') span.recordException(asException(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: describe(error) });
    }
    span.end();
  }

  settled(task: Task, outcome: TaskOutcome, detail: unknown): void {
    if (outcome !== 'dropped') return;
    // Never ran, or not again: a zero-length span, since its parent (a failed request's span)
    // has usually ended and an event on it would be lost.
    const at = Date.now();
    const span = this.start(task, this.traceOf(task).parent, at);
    span.setAttribute(TaskAttributes.outcome, 'dropped');
    span.setAttribute(TaskAttributes.dropReason, String(detail));
    span.end(at);
  }

  private start(task: Task, parent: Context, startTime?: number): Span {
    const options = { kind: SpanKind.INTERNAL, attributes: attributesOf(task), startTime };
    return this.tracer.startSpan(`task ${task.name}`, options, parent);
  }

  /** The task's trace; for a task scheduled before the observer was registered, the active context. */
  private traceOf(task: Task): TaskTrace {
    let state = this.traces.get(task);
    if (state === undefined) this.traces.set(task, (state = { parent: context.active() }));
    return state;
  }
}

function attributesOf(task: Task): Attributes {
  return {
    [TaskAttributes.name]: task.name,
    [TaskAttributes.mode]: task.mode,
    [TaskAttributes.shield]: task.config.shield === true,
    [TaskAttributes.attempt]: task.attempt,
    [TaskAttributes.group]: task.group,
  };
}

/** `recordException` takes an Error or a string: anything else is described. */
function asException(error: unknown): Error | string {
  return error instanceof Error ? error : describe(error);
}

/** The status description: an Error's message (its type is on the exception event), a string as it is. */
function describe(error: unknown): string {
  if (typeof error === 'string') return error;
  return error instanceof Error ? error.message : describeError(error);
}
