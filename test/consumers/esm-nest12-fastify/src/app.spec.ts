import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { TasksService } from 'nestjs-tasks';
import { AppModule, Ledger } from './app.js';

describe('nestjs-tasks in an ESM Nest 12 project on Fastify', () => {
  it('runs a task in each mode on a real HTTP request', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    await app.listen(0, '127.0.0.1');
    const response = await fetch(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/`);
    expect(await response.json()).toEqual({ hello: 'world' });
    await app.get(TasksService).onIdle();
    expect(app.get(Ledger).entries.sort()).toEqual(['afterResponse', 'afterRoute', 'immediate']);
    await app.close();
  });
});
