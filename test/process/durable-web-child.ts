/**
 * A web process for the crash tests: `node dist-test/test/process/durable-web-child.js` with
 * ADAPTER, REDIS_PORT and QUEUE set. `GET /order/:id` schedules one durable afterResponse task
 * and answers; it runs no worker (`worker: false`). Prints `READY <url>` once listening on 127.0.0.1.
 */
import 'reflect-metadata';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TasksService } from '../../lib/index.js';
import { CrashJobs, crashModule } from './durable-jobs.js';

@Controller()
class OrdersController {
  constructor(
    private readonly tasks: TasksService,
    private readonly jobs: CrashJobs,
  ) {}

  @Get('order/:id')
  order(@Param('id') id: string) {
    this.tasks.afterResponse.call(this.jobs, 'run', id);
    return { id };
  }
}

@Module({
  imports: [
    crashModule({
      redisPort: Number(process.env.REDIS_PORT),
      queue: process.env.QUEUE!,
      worker: false,
      shutdownTimeout: 3000,
    }),
  ],
  controllers: [OrdersController],
})
class WebModule {}

const adapter = process.env.ADAPTER === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
const app = await NestFactory.create(WebModule, adapter, { logger: ['warn', 'error'] });
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
process.stdout.write(`READY ${(await app.getUrl()).replace('[::1]', '127.0.0.1')}\n`);
