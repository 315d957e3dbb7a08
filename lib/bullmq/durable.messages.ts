/**
 * Every log line and error text of nestjs-tasks/bullmq. Tests assert with these same functions.
 */
import { describeError, describeValue } from '../core/tasks.messages.js';

const FIX_CALL_SITE =
  "Schedule the @Task() method itself — `tasks.afterResponse.call(this.mailer, 'sendReceipt', id)` or `tasks.afterResponse.schedule(this.mailer.sendReceipt, id)` —";

export const durableMessages = {
  noName: (name: string) =>
    `Task "${name}" is durable but has no explicit name: a worker finds the method to run by the task's name. ${FIX_CALL_SITE} of a singleton provider, with \`@Task({ name: 'send_receipt', durable: true })\`.`,
  unnamedMethod: (owner: string) =>
    `The durable @Task() method ${owner} has no \`name\`: a worker finds the method to run by that name, which must not change when the code is refactored. Give it one: \`@Task({ name: 'send_receipt', durable: true })\`.`,
  notSingleton: (owner: string, name: string) =>
    `The durable @Task() method ${owner} ("${name}") belongs to a request-scoped or transient provider: a worker needs one instance to run it on. Move the method to a singleton provider (the default scope).`,
  duplicateName: (name: string, owners: readonly string[]) =>
    `${owners.length} @Task() methods are named "${name}" (${owners.join(', ')}) and one of them is durable: a worker could not tell which one a job means. Give each a name of its own.`,
  noMethod: (name: string) =>
    `Task "${name}" is durable, but no @Task() method of a singleton provider is named "${name}", so no worker could run it. ${FIX_CALL_SITE} and give that method \`@Task({ name: '${name}' })\`.`,
  notTheMethod: (name: string, owner: string) =>
    `Task "${name}" is durable, but the function scheduled is not the @Task() method ${owner}: a worker runs that method with the arguments, never the function passed here (an arrow function, a wrapper, a method bound by hand). ${FIX_CALL_SITE} instead.`,
  notJson: (name: string, index: number, path: string, value: unknown, reason: string) =>
    `Task "${name}" is durable, so its arguments are stored in Redis as JSON, but argument ${index} cannot be: ${path} is ${describeValue(value)}, ${reason}. Pass plain data — strings, finite numbers, booleans, null, arrays, plain objects and Dates — such as an id the worker loads the rest by.`,
  handOffRetrying: (name: string, queue: string, attempt: number, delay: number, error: unknown) =>
    `Task "${name}" could not be handed to queue "${queue}" (attempt ${attempt}: ${describeError(error)}). Retrying in ${delay} ms.`,
  handOffFailed: (name: string, queue: string, elapsed: number, error: unknown) =>
    `Task "${name}" was not handed to queue "${queue}": Redis did not take it within ${elapsed} ms (${describeError(error)}). Unless an add still waiting reaches Redis after all, the job is not stored and no worker will run it.`,
  queueRenewed: (queue: string, error: unknown) =>
    `The BullMQ queue "${queue}" failed while it set up its connection (${describeError(error)}) and BullMQ does not retry that: replaced it with a new one.`,
  unknownJob: (jobName: string, queue: string, known: readonly string[]) =>
    `Job "${jobName}" of queue "${queue}" has no @Task() method named "${jobName}" in this worker (it knows: ${known.length === 0 ? 'none' : known.map((name) => `"${name}"`).join(', ')}). Deploy the provider with that method to the workers of this queue, or give the @Task() its old name back.`,
  failedUnrun: (name: string, jobId: string, reason: string) =>
    `Task "${name}" (job ${jobId}) was failed by BullMQ without running: ${reason}. Its workers stopped under it (killed, out of memory) more times than the worker option \`maxStalledCount\` allows. It is not run again; raise \`worker: { maxStalledCount }\` where workers are killed often.`,
  jobRetrying: (name: string, jobId: string, attempt: number, attempts: number, error: unknown) =>
    `Task "${name}" (job ${jobId}) attempt ${attempt} of ${attempts} failed: ${describeError(error)}. BullMQ retries it.`,
  connectionError: (role: 'queue' | 'worker', queue: string, error: unknown) =>
    `The BullMQ ${role} of queue "${queue}" reports: ${describeError(error)}`,
  workerDeadline: (timeout: number, names: readonly string[]) =>
    `Shutdown timeout of ${timeout} ms reached; ${names.length} durable job(s) were still running (their signals aborted; BullMQ's stalled-job recovery hands them to another worker): ${names.map((name) => `"${name}"`).join(', ')}`,
  workerNotStopped: (timeout: number, queue: string) =>
    `Shutdown timeout of ${timeout} ms reached while the BullMQ worker of queue "${queue}" was still stopping, with no durable job running (is Redis unreachable?). Closed it without waiting further.`,
  badOptions: (what: string, expectation: string, value: unknown) =>
    `Expected ${what} of DurableTasksModule to be ${expectation}, got ${describeValue(value)}.`,
} as const;
