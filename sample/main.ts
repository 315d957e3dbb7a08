import 'reflect-metadata';
import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';

// Debug level shows the tasks dropped by failed requests.
const logger: LogLevel[] = ['log', 'warn', 'error', 'debug'];
// With REDIS_URL set, the app also hands a durable task to BullMQ and runs a worker.
const appModule = await AppModule.register();
const app =
  process.env.ADAPTER === 'fastify'
    ? await NestFactory.create(appModule, new FastifyAdapter(), { logger })
    : await NestFactory.create(appModule, { logger });
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
