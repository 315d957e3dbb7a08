import process from 'node:process';
import { TestEnvironment } from 'jest-environment-node';

/**
 * Jest's node environment with one addition: a way for a test to receive the real process's
 * `unhandledRejection` and `uncaughtException` events.
 *
 * The `process` a test sees is a copy made by Jest, with its own listeners: Node never emits on
 * it, so a listener registered there hears nothing. Node emits on the worker's real `process`,
 * where Jest's test runner has put its own listeners. `takeProcessErrors(listener)` moves those
 * aside, sends both events to `listener` until the returned `release()` is called, then puts
 * Jest's listeners back. Only this function is exposed, never the real `process`: Jest strips
 * the properties of objects set on a test's global at teardown.
 */
export const takeProcessErrorsKey = Symbol.for('nestjs-tasks.test.takeProcessErrors');

const events = ['unhandledRejection', 'uncaughtException'];

function takeProcessErrors(listener) {
  const saved = events.map((event) => [event, process.rawListeners(event)]);
  const forward = (event) => (error) => listener(event, error);
  const installed = events.map((event) => [event, forward(event)]);
  for (const [event, own] of installed) {
    process.removeAllListeners(event);
    process.on(event, own);
  }
  return function release() {
    for (const [event, own] of installed) process.off(event, own);
    for (const [event, listeners] of saved) for (const previous of listeners) process.on(event, previous);
  };
}

export default class ProcessErrorsEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global[takeProcessErrorsKey] = takeProcessErrors;
  }
}
