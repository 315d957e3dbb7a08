/**
 * Every text of nestjs-tasks/terminus: why the indicator is down, and bad limits. Tests assert
 * with these same functions.
 */
import { messages } from '../core/tasks.messages.js';

export const healthMessages = {
  shuttingDown: () => 'shutdown has begun: tasks are draining',
  overLimit: (what: string, value: number, limit: number) => `${what} ${value} > ${limit}`,
  badLimit: (name: string, value: unknown) =>
    messages.expected(`\`${name}\``, 'a number >= 0 (or undefined for no limit)', value),
  badRatio: (value: unknown) =>
    messages.expected('`maxFailedRatio`', 'a number from 0 to 1 (or undefined for no limit)', value),
} as const;
