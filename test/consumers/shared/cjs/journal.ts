// Test helpers shared by the CommonJS consumer specs: an event journal with bounded waits.
import { Injectable } from '@nestjs/common';

/** Rejects with a message naming `what` unless `promise` settles within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A promise opened from outside. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Events in the order they happened; `waitFor` resolves when one is recorded. */
@Injectable()
export class Journal {
  readonly events: string[] = [];
  private readonly waiters: { event: string; resolve: () => void }[] = [];

  record(event: string): void {
    this.events.push(event);
    for (const waiter of this.waiters.filter((w) => w.event === event)) waiter.resolve();
  }

  waitFor(event: string, ms = 5000): Promise<void> {
    if (this.events.includes(event)) return Promise.resolve();
    const recorded = new Promise<void>((resolve) => this.waiters.push({ event, resolve }));
    return within(recorded, ms, `"${event}" (recorded so far: ${this.events.join(', ') || 'nothing'})`);
  }
}
