import { Controller, Get, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { ClsModule, ClsService } from 'nestjs-cls';
import { TasksModule, TasksService } from 'nestjs-tasks';
import { Journal } from './journal';

@Controller()
class ClsController {
  constructor(
    private readonly tasks: TasksService,
    private readonly cls: ClsService,
    private readonly journal: Journal,
  ) {}

  private read(mode: string) {
    return () => this.journal.record(`${mode}:${this.cls.get<string>('requestId')}`);
  }

  @Get()
  handle() {
    this.tasks.schedule(this.read('immediate'));
    this.tasks.afterRoute.schedule(this.read('afterRoute'));
    this.tasks.afterResponse.schedule(this.read('afterResponse'));
    return { ok: true };
  }
}

@Module({
  imports: [
    TasksModule.forRoot(),
    ClsModule.forRoot({
      global: true,
      middleware: {
        mount: true,
        setup: (cls, req: { headers: Record<string, string | undefined> }) =>
          cls.set('requestId', req.headers['x-request-id']),
      },
    }),
  ],
  controllers: [ClsController],
  providers: [Journal],
})
class ClsAppModule {}

describe('nestjs-tasks with nestjs-cls 6 in a CommonJS Nest project', () => {
  it('reads the request CLS value inside tasks of every mode', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ClsAppModule] }).compile();
    const app = moduleRef.createNestApplication();
    await app.listen(0, '127.0.0.1');
    try {
      await request(app.getHttpServer()).get('/').set('x-request-id', 'cls-6').expect(200);
      await app.get(TasksService).onIdle();
      expect([...app.get(Journal).events].sort()).toEqual([
        'afterResponse:cls-6',
        'afterRoute:cls-6',
        'immediate:cls-6',
      ]);
    } finally {
      await app.close();
    }
  });
});
