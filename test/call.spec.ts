import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { Task, TasksError, type ConfiguredScheduler, type Task as ScheduledTask } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import { CallController, RequestAudit } from './app/call.controller.js';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Mailer } from './app/mailer.js';
import { PlanController, plan } from './app/plan.controller.js';
import { Probe } from './app/probe.js';

/** Rebinds its @Task method in the constructor, a common pattern: the config must survive it. */
@Injectable()
class SelfBinding {
  readonly calls: string[] = [];
  constructor() {
    this.handle = this.handle.bind(this);
  }

  @Task({ name: 'self_bound', always: true })
  handle(id: string): void {
    this.calls.push(id);
  }
}

/** call() with what the types would refuse, as plain JavaScript (or `any`) could pass. */
const untypedCall = (scheduler: ConfiguredScheduler, instance: unknown, method: unknown): unknown =>
  (scheduler as unknown as { call(instance: unknown, method: unknown): unknown }).call(instance, method);

describe.each(adapters)('tasks.call(instance, method, ...args) on %s', (adapter) => {
  let t: TestApp;
  afterEach(() => t.app.close());

  const start = async () => {
    t = await startApp(adapter, {
      controllers: [CallController, PlanController],
      providers: [RequestAudit, Probe, Mailer, SelfBinding],
    });
  };

  it('keeps `this` and the @Task config of a request-scoped provider’s method, call-site options winning', async () => {
    await start();
    const response = await t.http.get('/call/o-1').set('x-request-id', 'req-7').expect(200);
    await t.tasks.onIdle();
    expect(response.body).toEqual([
      { name: 'audit_order', config: { name: 'audit_order', shield: true }, args: ['o-1'] },
      { name: 'audit_o-1', config: { name: 'audit_o-1', shield: true, always: true }, args: ['o-1-renamed'] },
      { name: 'send_confirmation', config: { name: 'send_confirmation', shield: true }, args: ['o-1'] },
      { name: 'sendReminder', config: {}, args: ['o-1'] },
    ]);
    expect(t.get(Probe).events.sort()).toEqual(['audit:o-1-renamed:req-7', 'audit:o-1:req-7']);
    expect(t.get(Mailer).sent.sort()).toEqual(['confirmation:o-1', 'reminder:o-1']);
    expect(t.logger.tasks('error')).toEqual([]);
  });

  it('keeps `this` per request: concurrent requests each get their own instance', async () => {
    await start();
    await Promise.all(
      ['a', 'b', 'c'].map((id) => t.http.get(`/call/${id}`).set('x-request-id', `req-${id}`).expect(200)),
    );
    await t.tasks.onIdle();
    expect(
      t
        .get(Probe)
        .events.filter((event) => !event.includes('renamed'))
        .sort(),
    ).toEqual(['audit:a:req-a', 'audit:b:req-b', 'audit:c:req-c']);
  });

  it('finds the @Task config on the class when the instance rebound the method itself', async () => {
    await start();
    let task: ScheduledTask | undefined;
    plan.run = (tasks) => {
      task = tasks.afterRoute.call(t.get(SelfBinding), 'handle', 'x-1');
    };
    await t.http.get('/plan').expect(200);
    await t.tasks.onIdle();
    expect([task!.name, task!.config.always]).toEqual(['self_bound', true]);
    expect(t.get(SelfBinding).calls).toEqual(['x-1']);
  });

  it('runs an undecorated method with `this`, named after the method, and exposes it bound as task.func', async () => {
    await start();
    const mailer = t.get(Mailer);
    const task = t.tasks.call(mailer, 'plain');
    await t.tasks.onIdle();
    expect(task.name).toBe('plain');
    expect(task.func()).toBe('plain');
  });

  it('refuses a name that is not a method, or an instance that is not an object, naming the value; nothing pending', async () => {
    await start();
    const mailer = t.get(Mailer);
    plan.run = (tasks) => {
      const caught: string[] = [];
      const attempts = [
        () => untypedCall(tasks, mailer, 'sendConfirmaton'),
        () => untypedCall(tasks.afterRoute, mailer, 'sent'),
        () => untypedCall(tasks.afterResponse.task({ name: 'n' }), undefined, 'send'),
      ];
      for (const attempt of attempts) {
        try {
          attempt();
          caught.push('nothing thrown');
        } catch (error) {
          caught.push(error instanceof TasksError ? error.message : `not a TasksError: ${String(error)}`);
        }
      }
      return { caught };
    };
    const response = await t.http.get('/plan').expect(200);
    expect(response.body).toEqual({
      caught: [
        messages.notAMethod(mailer, 'sendConfirmaton', undefined),
        messages.notAMethod(mailer, 'sent', mailer.sent),
        messages.notAnInstance(undefined, 'send'),
      ],
    });
    expect(messages.notAMethod(mailer, 'sendConfirmaton', undefined)).toBe(
      "Expected 'sendConfirmaton' to be a method of Mailer, got `undefined` (undefined). Pass the name of one of its methods as a string, then that method's arguments, e.g. `tasks.call(this.mailer, 'sendConfirmation', orderId)`.",
    );
    await t.tasks.onIdle();
  });
});

describe.each(adapters)('the outside-a-request error names the task, on %s', (adapter) => {
  let t: TestApp;
  afterEach(() => t.app.close());

  it('by call-site name, else @Task name, else function or method name, else "anonymous task"; nothing pending', async () => {
    t = await startApp(adapter, { providers: [Mailer] });
    const mailer = t.get(Mailer);
    function namedFunction() {}
    const cases: [() => unknown, string][] = [
      [
        () => t.tasks.afterRoute.task({ name: 'from_call_site' }).call(mailer, 'sendConfirmation', 'o-1'),
        messages.outsideRequest('afterRoute', 'from_call_site', 'call'),
      ],
      [
        () => t.tasks.afterResponse.call(mailer, 'sendConfirmation', 'o-1'),
        messages.outsideRequest('afterResponse', 'send_confirmation', 'call'),
      ],
      [
        () => t.tasks.afterResponse.schedule(mailer.sendConfirmation, 'o-1'),
        messages.outsideRequest('afterResponse', 'send_confirmation', 'schedule'),
      ],
      [
        () => t.tasks.afterRoute.call(mailer, 'sendReminder', 'o-1'),
        messages.outsideRequest('afterRoute', 'sendReminder', 'call'),
      ],
      [
        () => t.tasks.afterRoute.schedule(namedFunction),
        messages.outsideRequest('afterRoute', 'namedFunction', 'schedule'),
      ],
      [
        () => t.tasks.afterResponse.schedule([() => undefined][0]!),
        messages.outsideRequest('afterResponse', 'anonymous task', 'schedule'),
      ],
    ];
    for (const [attempt, message] of cases) expect(attempt).toThrow(new TasksError(message));
    expect(messages.outsideRequest('afterRoute', 'send_confirmation', 'call')).toMatch(
      /^Task "send_confirmation": tasks\.afterRoute\.call\(\) was called outside an HTTP request/,
    );
    await t.tasks.onIdle();
    expect(mailer.sent).toEqual([]);
  });

  it('runs an immediate call() outside a request, with `this` and the @Task config', async () => {
    t = await startApp(adapter, { providers: [Mailer] });
    const mailer = t.get(Mailer);
    const task = t.tasks.call(mailer, 'sendConfirmation', 'o-9');
    await t.tasks.onIdle();
    expect([task.name, task.config.shield]).toEqual(['send_confirmation', true]);
    expect(mailer.sent).toEqual(['confirmation:o-9']);
  });
});
