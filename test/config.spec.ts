import { afterEach, describe, expect, it } from '@jest/globals';
import { TaskConfig, type Task, type TasksModuleOptions } from '../lib/index.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Mailer } from './app/mailer.js';
import { PlanController, plan } from './app/plan.controller.js';

describe.each(adapters)('config layers and @Task on %s', (adapter) => {
  let t: TestApp;
  let mailer: Mailer;
  const start = async (tasks?: TasksModuleOptions) => {
    t = await startApp(adapter, { controllers: [PlanController], providers: [Mailer], tasks });
    mailer = t.get(Mailer);
  };
  afterEach(() => t.app.close());

  /** Runs `schedule` inside a request and returns the tasks it scheduled, once settled. */
  const scheduleInRequest = async (schedule: (tasks: TestApp['tasks']) => Task[]): Promise<Task[]> => {
    let scheduled: Task[] = [];
    plan.run = (tasks) => {
      scheduled = schedule(tasks);
    };
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    return scheduled;
  };

  it('gives a @Task method its config and keeps `this` when the method is passed as a value', async () => {
    await start();
    const [task] = await scheduleInRequest((tasks) => [tasks.afterResponse.schedule(mailer.sendConfirmation, 'o-1')]);
    expect(task!.name).toBe('send_confirmation');
    expect(task!.config.shield).toBe(true);
    expect(task!.args).toEqual(['o-1']);
    expect(mailer.sent).toEqual(['confirmation:o-1']);
  });

  it('names a @Task() method without a name after the method', async () => {
    await start();
    const [task] = await scheduleInRequest((tasks) => [tasks.schedule(mailer.sendReminder, 'o-2')]);
    expect(task!.name).toBe('sendReminder');
    expect(mailer.sent).toEqual(['reminder:o-2']);
  });

  it('still lets a @Task method be called directly', async () => {
    await start();
    await mailer.sendConfirmation('direct');
    expect(mailer.sent).toEqual(['confirmation:direct']);
  });

  it('layers global < @Task < call site, where undefined inherits and false overrides', async () => {
    const onError = () => undefined;
    await start({ shield: false, onError, always: true, name: 'global-name' });
    const [plain, decorated, callSite, explicitFalse] = await scheduleInRequest((tasks) => [
      tasks.schedule(() => undefined),
      tasks.schedule(mailer.sendConfirmation, 'a'),
      tasks.task({ name: 'call-site', shield: undefined }).schedule(mailer.sendConfirmation, 'b'),
      tasks.task({ shield: false, always: false }).schedule(mailer.sendConfirmation, 'c'),
    ]);
    expect(plain!.config).toEqual(new TaskConfig({ name: 'global-name', shield: false, onError, always: true }));
    expect(decorated!.config).toEqual(
      new TaskConfig({ name: 'send_confirmation', shield: true, onError, always: true }),
    );
    expect(callSite!.config).toEqual(new TaskConfig({ name: 'call-site', shield: true, onError, always: true }));
    expect(explicitFalse!.config).toEqual(
      new TaskConfig({ name: 'send_confirmation', shield: false, onError, always: false }),
    );
    expect(callSite!.name).toBe('call-site');
  });

  it('accepts a TaskConfig in forRoot and in task()', async () => {
    await start(new TaskConfig({ shield: true }));
    const [task] = await scheduleInRequest((tasks) => [
      tasks.task(new TaskConfig({ name: 'configured' })).schedule(() => undefined),
    ]);
    expect(task!.config).toEqual(new TaskConfig({ name: 'configured', shield: true }));
  });

  it('names a task by config, else by function name, else "anonymous task"', async () => {
    await start();
    function namedFunction() {}
    const [byConfig, byFunction, anonymous] = await scheduleInRequest((tasks) => [
      tasks.task({ name: 'configured' }).schedule(namedFunction),
      tasks.schedule(namedFunction),
      tasks.schedule(
        (
          () => () =>
            undefined
        )(),
      ),
    ]);
    expect([byConfig!.name, byFunction!.name, anonymous!.name]).toEqual([
      'configured',
      'namedFunction',
      'anonymous task',
    ]);
  });

  it('exposes func, args and an unaborted signal on the task', async () => {
    await start();
    const fn = (a: number, b: string) => `${a}${b}`;
    const [task] = await scheduleInRequest((tasks) => [tasks.schedule(fn, 1, 'x')]);
    expect(task!.func).toBe(fn);
    expect(task!.args).toEqual([1, 'x']);
    expect(task!.signal.aborted).toBe(false);
  });

  it('inherits the global config in afterRoute and afterResponse tasks', async () => {
    const onError = () => undefined;
    await start({ onError, shield: true });
    const scheduled = await scheduleInRequest((tasks) => [
      tasks.afterRoute.schedule(() => undefined),
      tasks.afterResponse.schedule(() => undefined),
    ]);
    for (const task of scheduled) expect(task.config).toEqual(new TaskConfig({ onError, shield: true }));
  });
});
