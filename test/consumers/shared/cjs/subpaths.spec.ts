import { Controller, Get, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import request from 'supertest';
import { TasksService } from 'nestjs-tasks';
import { TasksTelemetryModule } from 'nestjs-tasks/opentelemetry';
import { TasksHealthIndicator } from 'nestjs-tasks/terminus';
import { TasksProbe, TasksTestingModule } from 'nestjs-tasks/testing';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly tasks: TasksHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.tasks.isHealthy('tasks', { maxQueued: 10 })]);
  }
}

@Module({
  imports: [TasksTestingModule.forRoot({ mode: 'capture' }), TerminusModule, TasksTelemetryModule.forRoot()],
  controllers: [HealthController],
  providers: [TasksHealthIndicator],
})
class SubpathsModule {}

describe('the subpath entries from the packed tarball (CommonJS)', () => {
  it('loads nestjs-tasks/testing, /terminus and /opentelemetry, and each works', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [SubpathsModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    const ran: string[] = [];
    app
      .get(TasksService)
      .task({ name: 'receipt' })
      .schedule(() => void ran.push('receipt'));
    const probe = app.get(TasksProbe);
    await probe.drain();
    expect(probe.find('receipt')?.state).toBe('captured');
    expect(ran).toEqual([]);
    await probe.runAll();
    expect(ran).toEqual(['receipt']);
    const health = await request(app.getHttpServer()).get('/health').expect(200);
    expect(health.body.info.tasks).toMatchObject({ status: 'up', queued: 0, shuttingDown: false });
    await app.close();
  });
});
