/** Injection token of the resolved module options (internal). */
export const TASKS_OPTIONS = Symbol('nestjs-tasks:options');

/** Logger context of every line nestjs-tasks writes. */
export const LOGGER_CONTEXT = 'Tasks';

/** Name given to a task whose config has no name and whose function is anonymous. */
export const ANONYMOUS_TASK = 'anonymous task';

/** Default of `shutdownTimeout`, in milliseconds. */
export const DEFAULT_SHUTDOWN_TIMEOUT = 30_000;

/** `type` of the async resource a waiting task starts in (what async_hooks report for it). */
export const TASK_SCOPE = 'nestjs-tasks';
