/** Per-group slots in one worker process: a task's `concurrency`, first in first out. */
export class Slots {
  private readonly groups = new Map<string, { running: number; waiting: (() => void)[] }>();

  /** Resolves once a slot of `group` (at most `limit` at once) is this caller's. */
  take(group: string, limit: number): Promise<void> {
    let state = this.groups.get(group);
    if (state === undefined) this.groups.set(group, (state = { running: 0, waiting: [] }));
    if (state.running < limit) {
      state.running++;
      return Promise.resolve();
    }
    const waiting = state.waiting;
    return new Promise((resolve) => waiting.push(resolve));
  }

  /** Frees a slot: hands it to the caller that has waited longest, if any. */
  free(group: string): void {
    const state = this.groups.get(group);
    if (state === undefined) return;
    const next = state.waiting.shift();
    if (next !== undefined) next();
    else if (--state.running === 0) this.groups.delete(group);
  }
}
