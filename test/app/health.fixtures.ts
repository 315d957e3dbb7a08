import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { TasksHealthIndicator, type TasksHealthLimits } from '../../lib/terminus/index.js';

/** The limits the next /health check uses: each test sets its own. */
export const healthLimits: { current: TasksHealthLimits } = { current: {} };

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly tasks: TasksHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.tasks.isHealthy('tasks', healthLimits.current)]);
  }
}

/** A health module as an app writes it: TerminusModule, the indicator, a /health route. */
@Module({ imports: [TerminusModule], controllers: [HealthController], providers: [TasksHealthIndicator] })
export class HealthModule {}
