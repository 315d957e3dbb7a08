import { Module, type DynamicModule } from '@nestjs/common';
import { TasksTelemetry } from './tasks-telemetry.js';
import { TELEMETRY_OPTIONS } from './telemetry.constants.js';
import { resolveTelemetryOptions, type TasksTelemetryOptions } from './telemetry.options.js';

/**
 * Reports every task to OpenTelemetry: a span per attempt under the span that scheduled it, and
 * task metrics. Import it next to `TasksModule.forRoot()`, and start the OpenTelemetry SDK before
 * creating the app. Without an SDK it registers nothing and costs nothing.
 *
 * @example
 * ```ts
 * @Module({ imports: [TasksModule.forRoot(), TasksTelemetryModule.forRoot()] })
 * export class AppModule {}
 * ```
 */
@Module({})
export class TasksTelemetryModule {
  /**
   * @throws {TasksError} at once, naming an option of the wrong type
   */
  static forRoot(options?: TasksTelemetryOptions): DynamicModule {
    return {
      module: TasksTelemetryModule,
      providers: [{ provide: TELEMETRY_OPTIONS, useValue: resolveTelemetryOptions(options) }, TasksTelemetry],
    };
  }
}
