import { Controller, Get } from '@nestjs/common';
import { TasksService } from '../../lib/index.js';

/** What `GET /plan` does with the TasksService; each test sets its own. */
export const plan: { run: (tasks: TasksService) => unknown } = { run: () => undefined };

/** A route whose handler runs the current plan: lets one fixture serve many small cases. */
@Controller('plan')
export class PlanController {
  constructor(private readonly tasks: TasksService) {}

  @Get()
  async handle() {
    const result = await plan.run(this.tasks);
    return result ?? { ok: true };
  }
}
