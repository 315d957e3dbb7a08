import { describe, expect, it } from '@jest/globals';
import { TaskConfig, TasksError } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';

describe('TaskConfig', () => {
  const h1 = () => undefined;
  const h2 = () => undefined;

  it('merges two empty configs into one with every field unset', () => {
    const merged = new TaskConfig().merge(new TaskConfig());
    expect(merged).toEqual(new TaskConfig());
    expect([merged.name, merged.shield, merged.onError, merged.always]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('lets every defined field of the other config win, an explicit false included', () => {
    const merged = new TaskConfig({ name: 'task1', shield: true, onError: h1, always: true }).merge(
      new TaskConfig({ shield: false, onError: h2 }),
    );
    expect(merged.name).toBe('task1');
    expect(merged.shield).toBe(false);
    expect(merged.onError).toBe(h2);
    expect(merged.always).toBe(true);
  });

  it('accepts a plain object in merge', () => {
    expect(new TaskConfig({ name: 'a' }).merge({ name: 'b', always: false })).toEqual(
      new TaskConfig({ name: 'b', always: false }),
    );
  });

  it('changes neither input', () => {
    const first = new TaskConfig({ name: 'task1', shield: true, onError: h1 });
    const second = new TaskConfig({ shield: false, onError: h2 });
    const merged = first.merge(second);
    expect(merged).not.toBe(first);
    expect(merged).not.toBe(second);
    expect(first).toEqual(new TaskConfig({ name: 'task1', shield: true, onError: h1 }));
    expect(second).toEqual(new TaskConfig({ shield: false, onError: h2 }));
  });

  it.each([
    [{ shield: 'yes' }, messages.expected('`shield`', 'a boolean or undefined', 'yes')],
    [{ always: 1 }, messages.expected('`always`', 'a boolean or undefined', 1)],
    [{ name: 42 }, messages.expected('`name`', 'a string or undefined', 42)],
    [{ onError: 'log' }, messages.expected('`onError`', 'a function `(task, error) => void` or undefined', 'log')],
    [
      { sheild: true },
      messages.unknownOption('sheild', 'task options', [
        'name',
        'shield',
        'onError',
        'always',
        'timeout',
        'retry',
        'concurrency',
        'queueLimit',
        'group',
        'durable',
      ]),
    ],
    ['fast', messages.expected('task options', 'an object', 'fast')],
    [null, messages.expected('task options', 'an object', null)],
  ])('refuses %p with a TasksError naming the value', (options, message) => {
    expect(() => new TaskConfig(options as never)).toThrow(new TasksError(message));
    expect(() => new TaskConfig(options as never)).toThrow(TasksError);
  });

  it('names the bad value in its message', () => {
    expect(() => new TaskConfig({ shield: 'yes' } as never)).toThrow(
      "Expected `shield` to be a boolean or undefined, got `'yes'` (string).",
    );
  });
});
