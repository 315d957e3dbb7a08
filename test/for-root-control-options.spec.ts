import { describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TasksModule, TasksService } from '../lib/index.js';

/** The most tasks seen running at once when three are scheduled together in a context with these options. */
async function peakConcurrency(maxConcurrency: number): Promise<number> {
  @Module({ imports: [TasksModule.forRoot({ maxConcurrency })] })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  const tasks = app.get(TasksService);
  let running = 0;
  let peak = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const work = async () => {
    peak = Math.max(peak, ++running);
    await gate;
    running--;
  };
  for (let i = 0; i < 3; i++) tasks.schedule(work);
  await Promise.resolve().then(() => undefined);
  release();
  await tasks.onIdle();
  await app.close();
  return peak;
}

describe('TasksModule.forRoot() calls that differ only in a task-control option', () => {
  it('each get their own options (the module cache once keyed on name, shield, always and shutdownTimeout only)', async () => {
    expect(await peakConcurrency(3)).toBe(3);
    expect(await peakConcurrency(1)).toBe(1);
  });

  it('share a module only when every option agrees, retryIf by identity', () => {
    const retryIf = () => true;
    expect(TasksModule.forRoot({ concurrency: 2 })).toBe(TasksModule.forRoot({ concurrency: 2 }));
    expect(TasksModule.forRoot({ concurrency: 2 })).not.toBe(TasksModule.forRoot({ concurrency: Infinity }));
    expect(TasksModule.forRoot({ timeout: 5 })).not.toBe(TasksModule.forRoot({}));
    expect(TasksModule.forRoot({ retry: { attempts: 2, retryIf } })).toBe(
      TasksModule.forRoot({ retry: { attempts: 2, retryIf } }),
    );
    expect(TasksModule.forRoot({ retry: { attempts: 2, retryIf } })).not.toBe(
      TasksModule.forRoot({ retry: { attempts: 2, retryIf: () => true } }),
    );
  });
});
