import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Task, TasksModule, TasksService } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import { RecordingLogger } from './app/harness.js';

@Injectable()
class Ledger {
  readonly entries: string[] = [];

  @Task({ name: 'record' })
  record(id: string): void {
    this.entries.push(id);
  }

  @Task({ name: 'broken' })
  broken(): void {
    throw new TypeError('broken on purpose');
  }
}

/** The TypeError a method reading `this.entries` throws unbound: tasks are called with `this` null. */
const unboundError = new TypeError("Cannot read properties of null (reading 'entries')");

describe('a @Task() method used in a module compiled but not initialised (a unit test without app.init())', () => {
  let moduleRef: TestingModule;
  let logger: RecordingLogger;
  let tasks: TasksService;
  let ledger: Ledger;
  beforeEach(async () => {
    moduleRef = await Test.createTestingModule({ imports: [TasksModule.forRoot()], providers: [Ledger] }).compile();
    logger = new RecordingLogger();
    moduleRef.useLogger(logger);
    tasks = moduleRef.get(TasksService);
    ledger = moduleRef.get(Ledger);
  });
  afterEach(() => moduleRef.close());

  const errorLines = () => logger.tasks('error').map((line) => line.message);

  it('fails with the TypeError and a hint saying the method ran unbound, and how to fix it', async () => {
    tasks.schedule(ledger.record, 'a');
    await tasks.onIdle();
    expect(errorLines()).toEqual([messages.taskFailed('record', unboundError, true)]);
    expect(messages.taskFailed('record', unboundError, true)).toContain("tasks.call(instance, 'methodName', ...args)");
    expect(ledger.entries).toEqual([]);
  });

  it('call(), which the hint names, keeps `this` there', async () => {
    tasks.call(ledger, 'record', 'b');
    await tasks.onIdle();
    expect(errorLines()).toEqual([]);
    expect(ledger.entries).toEqual(['b']);
  });

  it('once initialised, the bound method runs, and its own TypeError gets no hint', async () => {
    await moduleRef.init();
    const { record, broken } = moduleRef.get(Ledger);
    tasks.schedule(record, 'c');
    tasks.schedule(broken);
    await tasks.onIdle();
    expect(ledger.entries).toEqual(['c']);
    expect(errorLines()).toEqual([messages.taskFailed('broken', new TypeError('broken on purpose'))]);
  });

  it('a plain function failing with a TypeError gets no hint', async () => {
    tasks
      .task({ name: 'plain' })
      .schedule((value: unknown) => (value as { entries: string[] }).entries.push('d'), null);
    await tasks.onIdle();
    expect(errorLines()).toEqual([messages.taskFailed('plain', unboundError)]);
  });
});
