// The README's "Health (terminus)" example, compiled by `npm run typecheck`.
import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { TasksHealthIndicator } from 'nestjs-tasks/terminus';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly tasks: TasksHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.tasks.isHealthy('tasks', { maxQueued: 1000, maxFailedRatio: 0.5 })]);
  }
}

@Module({ imports: [TerminusModule], controllers: [HealthController], providers: [TasksHealthIndicator] })
export class HealthModule {}
