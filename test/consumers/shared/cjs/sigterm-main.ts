// A user's main.ts, run as a real process by sigterm.spec.ts (compiled to CommonJS first): Nest's
// shutdown hooks PLUS the common hand-written SIGTERM handler, so two shutdowns run at once.
// Each GET /order/:id schedules a shielded afterResponse task that writes OUT_DIR/<id> after
// TASK_MS. Prints `READY <url>` once listening on 127.0.0.1.
import 'reflect-metadata';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { writeFileSync } from 'fs';
import { join } from 'path';
import type { AddressInfo } from 'net';
import { TasksModule, TasksService } from 'nestjs-tasks';

const outDir = process.env.OUT_DIR ?? '';
const taskMs = Number(process.env.TASK_MS ?? 300);

async function persist(id: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, taskMs));
  writeFileSync(join(outDir, id), 'persisted\n');
}

@Controller()
class OrdersController {
  constructor(private readonly tasks: TasksService) {}

  @Get('order/:id')
  order(@Param('id') id: string) {
    this.tasks.afterResponse.task({ name: `persist_${id}`, shield: true }).schedule(persist, id);
    return { id };
  }
}

@Module({ imports: [TasksModule.forRoot({ shutdownTimeout: 10_000 })], controllers: [OrdersController] })
class AppModule {}

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  process.on('SIGTERM', async () => {
    await app.close();
    process.exit(0);
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  process.stdout.write(`READY http://127.0.0.1:${port}\n`);
}
void bootstrap();
