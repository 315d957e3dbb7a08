import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';

const options = { logger: ['log', 'warn', 'error', 'debug'] as const };
const app =
  process.env.ADAPTER === 'fastify'
    ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger: [...options.logger] })
    : await NestFactory.create(AppModule, { logger: [...options.logger] });
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
