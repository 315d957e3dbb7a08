// Stand-ins for the application code the README's examples refer to, so the examples compile.
import { Injectable, Module } from '@nestjs/common';
import type { Task } from 'nestjs-tasks';

export class CreateOrder {
  readonly item!: string;
}
export const save = (body: CreateOrder): string => `order-${body.item}`;
export const warmCache = async (id: string): Promise<void> => void id;
export const audit = async (id: string): Promise<void> => void id;
export const finalize = async (id: string): Promise<void> => void id;
export const sync = async (id: string, retries = 0): Promise<void> => void [id, retries];
export const report = (task: Task, error: unknown): void => void [task.name, error];
export const onError = report;

@Injectable()
export class ConfigService {
  get<T>(key: string): T | undefined {
    return process.env[key] as T | undefined;
  }
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
export class ConfigModule {}

/** Stands for `@prisma/client`'s generated client. */
export class PrismaClient {
  async $disconnect(): Promise<void> {}
}
