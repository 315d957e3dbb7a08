import { Injectable } from '@nestjs/common';

/** Records what happened, in order, and lets a test wait (with a bound) for an event. */
@Injectable()
export class Probe {
  readonly events: string[] = [];
  private waiters: { event: string; resolve: () => void }[] = [];

  record(event: string): void {
    this.events.push(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.event !== event) return true;
      waiter.resolve();
      return false;
    });
  }

  has(event: string): boolean {
    return this.events.includes(event);
  }

  /** Resolves once `event` is recorded; rejects after `timeoutMs` (a bounded wait, not a sleep). */
  waitFor(event: string, timeoutMs = 5000): Promise<void> {
    if (this.has(event)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`timed out after ${timeoutMs} ms waiting for "${event}"; saw ${JSON.stringify(this.events)}`),
          ),
        timeoutMs,
      );
      this.waiters.push({
        event,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

/** A promise with its resolve function exposed, to hold a task or handler at a known point. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
