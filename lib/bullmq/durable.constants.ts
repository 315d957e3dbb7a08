/** Injection token of the resolved DurableTasksModule options (internal). */
export const DURABLE_OPTIONS = Symbol('nestjs-tasks:durable-options');

/** Logger context of every line nestjs-tasks/bullmq writes. */
export const DURABLE_LOGGER_CONTEXT = 'DurableTasks';

/** The BullMQ backoff type of durable jobs: the worker computes it as nestjs-tasks' `retry` does. */
export const DURABLE_BACKOFF = 'nestjs-tasks';
