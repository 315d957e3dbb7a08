// The README's "Testing your app" examples, compiled by `npm run typecheck`.
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TasksModule } from 'nestjs-tasks';
import { TasksProbe, TasksTestingModule } from 'nestjs-tasks/testing';
import request from 'supertest';
import { report } from './stubs.js';

declare const expect: (value: unknown) => {
  toHaveLength(length: number): void;
  toBe(value: unknown): void;
  toEqual(value: unknown): void;
};

class Mailer {
  readonly sent: string[] = [];
}
const tasksModule = TasksModule.forRoot({ onError: report });
@Module({ imports: [tasksModule], providers: [Mailer] })
class AppModule {}

export async function runMode() {
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule, TasksTestingModule.register({ mode: 'run' })],
  }).compile();
  const app = moduleRef.createNestApplication();
  await app.init();
  const probe = app.get(TasksProbe);
  const mailer = app.get(Mailer);

  await request(app.getHttpServer()).post('/orders').expect(201);
  await probe.drain(); // waits like onIdle(), then rejects if a task failed or timed out
  expect(mailer.sent).toHaveLength(1);

  probe.mode = 'capture';
  await request(app.getHttpServer()).post('/orders').expect(201);
  const email = probe.find('send_confirmation');
  if (email === undefined) throw new Error('send_confirmation was not scheduled');
  expect(email.state).toBe('captured');
  expect(email.args).toEqual(['o-2']);
  expect(email.request).toEqual({ method: 'POST', url: '/orders' });
  await probe.run(email); // runs it for real, then drain()
  expect(email.state).toBe('succeeded');

  probe.clear(); // between tests
}

export async function overridden(fakeMailer: Mailer) {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideModule(tasksModule) // the object your AppModule imports: TasksModule.forRoot(...)
    .useModule(TasksTestingModule.forRoot({ mode: 'capture', onError: report }))
    .overrideProvider(Mailer)
    .useValue(fakeMailer)
    .compile();
  return moduleRef;
}
