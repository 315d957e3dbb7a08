import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { TasksModule, TasksService, currentTask } from 'nestjs-tasks';
import { Journal, gate, within } from './journal';

const release = { shielded: gate() };

@Controller()
class WorkController {
  constructor(
    private readonly tasks: TasksService,
    private readonly journal: Journal,
  ) {}

  @Get('work')
  work() {
    this.tasks.afterResponse.task({ name: 'shielded', shield: true }).schedule(async () => {
      this.journal.record('shielded:started');
      await release.shielded.promise;
      this.journal.record(`shielded:finished, signal aborted: ${currentTask()?.signal.aborted}`);
    });
    this.tasks.afterResponse.task({ name: 'unshielded' }).schedule(async () => {
      const signal = currentTask()!.signal;
      this.journal.record('unshielded:started');
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      this.journal.record('unshielded:aborted');
    });
    return { ok: true };
  }

  @Get('fail')
  fail() {
    this.tasks.schedule(() => this.journal.record('immediate'));
    this.tasks.afterRoute.schedule(() => this.journal.record('afterRoute'));
    this.tasks.afterResponse.schedule(() => this.journal.record('afterResponse'));
    this.tasks.afterRoute.task({ always: true }).schedule(() => this.journal.record('afterRoute:always'));
    this.tasks.afterResponse.task({ always: true }).schedule(() => this.journal.record('afterResponse:always'));
    throw new Error('the handler failed');
  }
}

@Module({
  imports: [TasksModule.forRoot()],
  controllers: [WorkController],
  providers: [Journal],
})
class WorkModule {}

describe('nestjs-tasks shutdown and failure policy in a CommonJS Nest project', () => {
  let app: INestApplication;
  let closed: Promise<void> | undefined;
  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [WorkModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    closed = undefined;
  });
  afterEach(async () => {
    release.shielded.open();
    await (closed ?? app.close());
  });

  it('app.close() awaits a shielded afterResponse task in flight and aborts an unshielded one', async () => {
    release.shielded = gate();
    const journal = app.get(Journal);
    await request(app.getHttpServer()).get('/work').expect(200, { ok: true });
    await journal.waitFor('shielded:started');
    await journal.waitFor('unshielded:started');

    closed = app.close().then(() => journal.record('app closed'));
    await journal.waitFor('unshielded:aborted');
    expect(journal.events).not.toContain('app closed');

    release.shielded.open();
    await within(closed, 5000, 'app.close()');
    expect(journal.events.slice(-2)).toEqual(['shielded:finished, signal aborted: false', 'app closed']);
  });

  it('drops the deferred tasks of a throwing handler, except those with always: true', async () => {
    const journal = app.get(Journal);
    await request(app.getHttpServer()).get('/fail').expect(500);
    await within(app.get(TasksService).onIdle(), 5000, 'onIdle()');
    expect([...journal.events].sort()).toEqual(['afterResponse:always', 'afterRoute:always', 'immediate']);
  });
});
