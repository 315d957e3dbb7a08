import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TasksError, TasksModule, type Task, type TasksModuleOptions, type TasksOptionsFactory } from '../lib/index.js';
import { DEFAULT_SHUTDOWN_TIMEOUT, TASKS_OPTIONS } from '../lib/core/tasks.constants.js';
import { messages } from '../lib/core/tasks.messages.js';
import type { ResolvedTasksOptions } from '../lib/module/tasks.options.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { PlanController, plan } from './app/plan.controller.js';

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

/** Creates the options from an injected dependency, as a TasksOptionsFactory class does. */
@Injectable()
class TasksSettings implements TasksOptionsFactory {
  constructor(private readonly config: EnvConfig) {}
  async createTasksOptions(): Promise<TasksModuleOptions> {
    await Promise.resolve();
    return { name: 'from-settings', shield: true, shutdownTimeout: this.config.get<string>(ENV_KEY) };
  }
}
@Module({ imports: [EnvConfigModule], providers: [TasksSettings], exports: [TasksSettings] })
class TasksSettingsModule {}

/** A provider without createTasksOptions(), given to useExisting by mistake. */
@Injectable()
class NotAFactory {
  readonly shutdownTimeout = 5;
}
@Module({ providers: [NotAFactory], exports: [NotAFactory] })
class NotAFactoryModule {}

describe.each(adapters)('TasksModule.forRootAsync() sources on %s', (adapter) => {
  let t: TestApp | undefined;
  beforeEach(() => {
    process.env[ENV_KEY] = '1234';
  });
  afterEach(async () => {
    unsetVariable();
    await t?.app.close();
    t = undefined;
  });

  /** Boots a real app with `module`, schedules a task in a request and returns what it resolved. */
  const boot = async (module: ReturnType<typeof TasksModule.forRootAsync>) => {
    t = await startApp(adapter, { tasksModule: [module], controllers: [PlanController] });
    let task: Task | undefined;
    plan.run = (tasks) => {
      task = tasks.afterResponse.schedule(() => undefined);
    };
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    return { task: task!, shutdownTimeout: t.app.get<ResolvedTasksOptions>(TASKS_OPTIONS).shutdownTimeout };
  };

  it('useClass: instantiates the class with its dependencies and uses what it creates', async () => {
    const { task, shutdownTimeout } = await boot(
      TasksModule.forRootAsync({ imports: [EnvConfigModule], useClass: TasksSettings }),
    );
    expect([task.name, task.config.shield, shutdownTimeout]).toEqual(['from-settings', true, 1234]);
  });

  it('useExisting: uses a provider exported by an imported module', async () => {
    const { task, shutdownTimeout } = await boot(
      TasksModule.forRootAsync({ imports: [TasksSettingsModule], useExisting: TasksSettings }),
    );
    expect([task.name, task.config.shield, shutdownTimeout]).toEqual(['from-settings', true, 1234]);
  });

  it('useFactory: still works, with inject', async () => {
    const { task, shutdownTimeout } = await boot(fromEnvironment());
    expect([task.name, task.config.shield, shutdownTimeout]).toEqual(['anonymous task', undefined, 1234]);
  });
});

describe('TasksModule.forRootAsync() refuses', () => {
  const factory = () => ({});

  it.each([
    [{}, []],
    [{ useFactory: factory, useClass: TasksSettings }, ['useFactory', 'useClass']],
    [{ useClass: TasksSettings, useExisting: TasksSettings }, ['useClass', 'useExisting']],
    [
      { useFactory: factory, useClass: TasksSettings, useExisting: TasksSettings },
      ['useFactory', 'useClass', 'useExisting'],
    ],
  ])('%p: anything but exactly one source, at the call', (options, given) => {
    expect(() => TasksModule.forRootAsync(options)).toThrow(new TasksError(messages.asyncOptionsSource(given)));
  });

  it('inject without useFactory, at the call', () => {
    expect(() => TasksModule.forRootAsync({ useClass: TasksSettings, inject: [EnvConfig] })).toThrow(
      new TasksError(messages.injectWithoutFactory('useClass')),
    );
  });

  it('a useExisting provider without createTasksOptions(), at start-up', async () => {
    const compile = Test.createTestingModule({
      imports: [TasksModule.forRootAsync({ imports: [NotAFactoryModule], useExisting: NotAFactory })],
    }).compile();
    await expect(compile).rejects.toThrow(new TasksError(messages.notAnOptionsFactory(new NotAFactory())));
  });

  it('bad options created by a class, at start-up', async () => {
    process.env[ENV_KEY] = '10s';
    const compile = Test.createTestingModule({
      imports: [TasksModule.forRootAsync({ imports: [EnvConfigModule], useClass: TasksSettings })],
    }).compile();
    await expect(compile).rejects.toThrow(new TasksError(messages.badShutdownTimeout('10s')));
    unsetVariable();
  });
});
