import { AsyncLocalStorage } from 'node:async_hooks';
import type { Task } from './task.js';

/** Holds the task whose function is running (internal). */
export const taskStorage = new AsyncLocalStorage<Task>();

/**
 * Inside a running task (and everything it awaits), that task; elsewhere `undefined`.
 *
 * @example
 * ```ts
 * async function download(url: string) {
 *   await fetch(url, { signal: currentTask()?.signal });
 * }
 * ```
 */
export function currentTask(): Task | undefined {
  return taskStorage.getStore();
}
