import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TasksError, TasksModule } from '../lib/index.js';
import { DEFAULT_SHUTDOWN_TIMEOUT, TASKS_OPTIONS } from '../lib/tasks.constants.js';
import { messages } from '../lib/tasks.messages.js';
import type { ResolvedTasksOptions } from '../lib/tasks.options.js';
import { adapters, startApp, type TestApp } from './app/harness.js';

const ENV_KEY = 'NESTJS_TASKS_TEST_SHUTDOWN_MS';

function unsetVariable(): void {
  Reflect.deleteProperty(process.env, ENV_KEY);
}

/** Reads the environment like @nestjs/config's ConfigService: every value is a string. */
@Injectable()
class EnvConfig {
  get<T = string>(key: string): T | undefined {
    return process.env[key] as T | undefined;
  }
}
@Module({ providers: [EnvConfig], exports: [EnvConfig] })
class EnvConfigModule {}

/** The README's forRootAsync example, reading shutdownTimeout from the environment. */
const fromEnvironment = () =>
  TasksModule.forRootAsync({
    imports: [EnvConfigModule],
    inject: [EnvConfig],
    useFactory: (config: EnvConfig) => ({ shutdownTimeout: config.get<string>(ENV_KEY) }),
  });

describe('shutdownTimeout from an environment variable (a string)', () => {
  beforeEach(unsetVariable);
  afterEach(unsetVariable);

  const resolvedTimeout = async (): Promise<number> => {
    const moduleRef = await Test.createTestingModule({ imports: [fromEnvironment()] }).compile();
    const { shutdownTimeout } = moduleRef.get<ResolvedTasksOptions>(TASKS_OPTIONS);
    await moduleRef.close();
    return shutdownTimeout;
  };

  it.each([
    ['10000', 10_000],
    ['Infinity', Infinity],
    [' 250\n', 250],
    ['0', 0],
    ['1.5', 1.5],
  ])('accepts %p', async (value, expected) => {
    process.env[ENV_KEY] = value;
    expect(await resolvedTimeout()).toBe(expected);
  });

  it('uses the default when the variable is not set', async () => {
    expect(await resolvedTimeout()).toBe(DEFAULT_SHUTDOWN_TIMEOUT);
  });

  it.each(['', '10s', '-1', '1e3', '0x10', 'NaN', 'infinity'])(
    'refuses %p at start-up, saying strings are accepted',
    async (value) => {
      process.env[ENV_KEY] = value;
      await expect(resolvedTimeout()).rejects.toThrow(new TasksError(messages.badShutdownTimeout(value)));
      expect(messages.badShutdownTimeout(value)).toContain("a string holding one such as '10000'");
    },
  );
});

describe.each(adapters)('shutdownTimeout given as a string on %s', (adapter) => {
  let t: TestApp;
  afterEach(unsetVariable);

  it('waits that many milliseconds for a shielded task, then names it', async () => {
    process.env[ENV_KEY] = '100';
    t = await startApp(adapter, { tasksModule: [fromEnvironment()] });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const task = t.tasks.task({ name: 'stuck', shield: true }).schedule(async () => {
      started();
      await new Promise(() => undefined);
    });
    await running;
    const closing = Date.now();
    await t.app.close();
    expect(Date.now() - closing).toBeGreaterThanOrEqual(90);
    expect(task.signal.aborted).toBe(true);
    expect(t.logger.tasks('warn').map((line) => line.message)).toEqual([messages.shutdownDeadline(100, ['stuck'])]);
  });
});
