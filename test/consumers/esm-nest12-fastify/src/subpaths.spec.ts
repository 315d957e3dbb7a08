import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Module } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
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

describe('the subpath entries from the packed tarball (ESM, Nest 12, Fastify)', () => {
  it('loads nestjs-tasks/testing, /terminus and /opentelemetry, and each works', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [SubpathsModule] }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
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
    const response = await fetch(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/health`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { info: Record<string, unknown> }).info.tasks).toMatchObject({
      status: 'up',
      queued: 0,
      shuttingDown: false,
    });
    await app.close();
  });
});
