// The README's "Testing your app" example, compiled by `npm run typecheck`.
import type { INestApplication } from '@nestjs/common';
import { TasksService } from 'nestjs-tasks';
import request from 'supertest';

declare const expect: (value: unknown) => { toHaveLength(length: number): void };

export async function example(app: INestApplication, mailer: { sent: string[] }) {
  await request(app.getHttpServer()).post('/orders').expect(201);
  await app.get(TasksService).onIdle();
  expect(mailer.sent).toHaveLength(1);
}
