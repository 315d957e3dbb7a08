import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { TasksError, TasksModule, TasksService } from '../lib/index.js';
import { messages } from '../lib/core/tasks.messages.js';
import { adapters } from './app/harness.js';

/** A controller that needs the TasksService, as an app's controllers do. */
@Controller('orders')
class OrdersController {
  constructor(private readonly tasks: TasksService) {}

  @Get()
  list() {
    this.tasks.schedule(() => undefined);
    return [];
  }
}

const createAdapter = { express: () => new ExpressAdapter(), fastify: () => new FastifyAdapter() };

/** Starts a real app from `module` the way main.ts does; rejects with what start-up threw. */
async function start(adapter: (typeof adapters)[number], module: new () => object): Promise<void> {
  let app: INestApplication | undefined;
  try {
    app = await NestFactory.create(module, createAdapter[adapter](), { abortOnError: false, logger: false });
    await app.listen(0, '127.0.0.1');
  } finally {
    await app?.close();
  }
}

describe.each(adapters)('start-up mistakes on %s', (adapter) => {
  it('importing the bare TasksModule class (no forRoot) fails with a TasksError naming forRoot()', async () => {
    @Module({ imports: [TasksModule], controllers: [OrdersController] })
    class AppModule {}
    await expect(start(adapter, AppModule)).rejects.toThrow(new TasksError(messages.bareModule()));
    expect(messages.bareModule()).toContain('TasksModule.forRoot()');
  });

  it('not importing TasksModule fails with Nest’s error naming TasksService', async () => {
    @Module({ controllers: [OrdersController] })
    class AppModule {}
    await expect(start(adapter, AppModule)).rejects.toThrow(
      /Nest can't resolve dependencies of the OrdersController \(\?\)\. Please make sure that the argument TasksService at index \[0\] is available in the AppModule module/,
    );
  });

  it('importing TasksModule.forRoot() in two modules with different options fails with a TasksError naming the fix', async () => {
    @Module({ imports: [TasksModule.forRoot({ shutdownTimeout: 5000 })], controllers: [OrdersController] })
    class OrdersModule {}
    @Module({ imports: [TasksModule.forRoot(), OrdersModule] })
    class AppModule {}
    await expect(start(adapter, AppModule)).rejects.toThrow(
      new TasksError(messages.doubleImport(2, ['AppModule', 'OrdersModule'])),
    );
    expect(messages.doubleImport(2, ['AppModule', 'OrdersModule'])).toContain('once, in the root module');
  });

  it('forRootAsync() in a feature module besides forRoot() in the root module fails the same way', async () => {
    @Module({ imports: [TasksModule.forRootAsync({ useFactory: () => ({}) })], controllers: [OrdersController] })
    class OrdersModule {}
    @Module({ imports: [OrdersModule, TasksModule.forRoot()] })
    class AppModule {}
    await expect(start(adapter, AppModule)).rejects.toThrow(
      new TasksError(messages.doubleImport(2, ['AppModule', 'OrdersModule'])),
    );
  });

  it('identical TasksModule.forRoot() imports are one module: it starts, and each task runs once', async () => {
    const ran: string[] = [];
    @Controller('twice')
    class TwiceController {
      constructor(private readonly tasks: TasksService) {}

      @Get()
      get() {
        this.tasks.afterRoute.schedule(() => ran.push('afterRoute'));
        this.tasks.afterResponse.schedule(() => ran.push('afterResponse'));
        return { ok: true };
      }
    }
    @Module({ imports: [TasksModule.forRoot({ shield: true })], controllers: [TwiceController] })
    class FeatureModule {}
    @Module({ imports: [TasksModule.forRoot({ shield: true }), FeatureModule] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, createAdapter[adapter](), { abortOnError: false, logger: false });
    try {
      await app.listen(0, '127.0.0.1');
      const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      expect(await (await fetch(`${url}/twice`)).json()).toEqual({ ok: true });
      await app.get(TasksService).onIdle();
      expect(ran).toEqual(['afterRoute', 'afterResponse']);
    } finally {
      await app.close();
    }
  });

  it('starts once TasksModule.forRoot() is imported', async () => {
    @Module({ imports: [TasksModule.forRoot()], controllers: [OrdersController] })
    class AppModule {}
    await expect(start(adapter, AppModule)).resolves.toBeUndefined();
  });
});

describe('start-up mistakes in a testing module', () => {
  it('the bare TasksModule class fails compile() with the same TasksError', async () => {
    const compile = Test.createTestingModule({ imports: [TasksModule] }).compile();
    await expect(compile).rejects.toThrow(new TasksError(messages.bareModule()));
  });

  it('two forRoot() imports with different options fail compile() with the double-import TasksError', async () => {
    @Module({ imports: [TasksModule.forRoot({ always: true })] })
    class FeatureModule {}
    const compile = Test.createTestingModule({ imports: [TasksModule.forRoot(), FeatureModule] }).compile();
    await expect(compile).rejects.toThrow(
      new TasksError(messages.doubleImport(2, ['RootTestModule', 'FeatureModule'])),
    );
  });
});
