// The README's OpenTelemetry examples, compiled by `npm run typecheck` (test/readme.spec.ts checks
// that each is here, as one run of lines).
import { Module } from '@nestjs/common';
import { TasksModule } from 'nestjs-tasks';
import { TaskAttributes, TaskMetricNames, TasksTelemetryModule } from 'nestjs-tasks/opentelemetry';

@Module({ imports: [TasksModule.forRoot(), TasksTelemetryModule.forRoot()] })
export class AppModule {}

export const tracesOnly = TasksTelemetryModule.forRoot({ metrics: false });

export const names = [TaskAttributes.outcome, TaskMetricNames.duration]; // 'task.outcome', 'tasks.duration'
