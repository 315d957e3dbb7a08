import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { TasksProbe, TasksTestingModule } from 'nestjs-tasks/testing';
import { AppModule } from '../sample/app.module.js';
import { Mailer } from '../sample/mailer.service.js';

/**
 * The sample app (npm run sample) tested as its users would test theirs: with the testing kit, its
 * tasks captured instead of run (they pretend to work for seconds), then run on demand.
 */
describe('the sample app, with nestjs-tasks/testing', () => {
  let app: INestApplication;
  let probe: TasksProbe;

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule, TasksTestingModule.register({ mode: 'capture' })],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    probe = app.get(TasksProbe);
  });
  afterEach(() => app.close());

  it('schedules one task in each mode for an order, the confirmation email after the response', async () => {
    const { body } = await request(app.getHttpServer()).post('/orders').expect(201);
    await probe.drain();
    const email = probe.find('send_confirmation');
    expect(email).toMatchObject({ mode: 'afterResponse', args: [body.id], state: 'captured' });
    expect(email?.request).toEqual({ method: 'POST', url: '/orders' });
    expect(probe.find(`audit_${body.id as string}`)).toMatchObject({ mode: 'immediate', state: 'captured' });
    expect(probe.scheduled.map((record) => record.mode).sort()).toEqual([
      'afterResponse',
      'afterRoute',
      'immediate',
      'immediate',
    ]);
  });

  it('runs the captured email for real, with the Mailer it was scheduled on', async () => {
    const sent: string[] = [];
    replaceEmail(app.get(Mailer), sent);
    await request(app.getHttpServer()).post('/orders').expect(201);
    await probe.drain();
    const email = probe.find('send_confirmation')!;
    await probe.run(email);
    expect(email.state).toBe('succeeded');
    expect(sent).toEqual(email.args);
  });

  it('drops the tasks of a cancelled order unless `always`, and fails drain() when a task fails', async () => {
    await request(app.getHttpServer()).post('/orders/o-9/cancel').expect(400);
    await probe.drain();
    expect(probe.find('notify_cancel_o-9')?.state).toBe('dropped');
    expect(probe.find('log_cancel_o-9')?.state).toBe('captured');
    probe.mode = 'run';
    await request(app.getHttpServer()).post('/orders/broken').expect(201);
    await expect(probe.drain()).rejects.toThrow(/broken_task/);
  });
});

/** Replaces the email's slow body with a record of the order it was sent for. */
function replaceEmail(mailer: Mailer, sent: string[]): void {
  Object.assign(mailer, { sendConfirmation: async (orderId: string) => void sent.push(orderId) });
}
