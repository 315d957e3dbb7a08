import { Test } from '@nestjs/testing';
import request from 'supertest';
import { TasksService } from 'nestjs-tasks';
import { AppModule, Ledger } from './app';

describe('nestjs-tasks in a CommonJS Nest project', () => {
  it('runs a task in each mode on a real HTTP request', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication();
    await app.listen(0, '127.0.0.1');
    await request(app.getHttpServer()).get('/').expect(200, { hello: 'world' });
    await app.get(TasksService).onIdle();
    expect(app.get(Ledger).entries.sort()).toEqual(['afterResponse', 'afterRoute', 'immediate']);
    await app.close();
  });
});
