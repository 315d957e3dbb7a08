import 'reflect-metadata';
import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Res,
  Scope,
  type CallHandler,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import { tap, type Observable } from 'rxjs';
import { TasksModule, TasksService } from '../lib/index.js';

export const ADAPTERS = ['express', 'fastify'] as const;
export type Adapter = (typeof ADAPTERS)[number];
export const VARIANTS = ['bare', 'unused', 'afterResponse', 'perMode', 'requestScoped'] as const;
/**
 * Reference points run in the same rounds but reported apart; none uses nestjs-tasks.
 * - `alsFloor`: bare NestJS plus one `AsyncLocalStorage.run()` per request in a server hook, the
 *   least any AsyncLocalStorage-based design can cost.
 * - `fireAndForget`: the handler calls `void empty()`, the floor for doing any work at all (no
 *   naming, error handling or shutdown).
 * - `handWrittenClose`: the hand-written after-response task, `res.once('close', …)` on the raw
 *   response from a `@Res({ passthrough: true })` handler.
 */
export const REFERENCES = ['alsFloor', 'fireAndForget', 'handWrittenClose'] as const;
export type Variant = (typeof VARIANTS)[number] | (typeof REFERENCES)[number];

const HELLO = { hello: 'world' };
const empty = async (): Promise<void> => undefined;

/** (1) bare NestJS: no nestjs-tasks. */
@Controller()
class BareController {
  @Get() hello() {
    return HELLO;
  }
}

/** (2) TasksModule imported and injected; nothing scheduled. */
@Controller()
class UnusedController {
  constructor(readonly tasks: TasksService) {}
  @Get() hello() {
    return HELLO;
  }
}

/** (3) one afterResponse task, an empty async function. */
@Controller()
class AfterResponseController {
  constructor(private readonly tasks: TasksService) {}
  @Get() hello() {
    this.tasks.afterResponse.schedule(empty);
    return HELLO;
  }
}

/** (4) one task in each mode. */
@Controller()
class PerModeController {
  constructor(private readonly tasks: TasksService) {}
  @Get() hello() {
    this.tasks.schedule(empty);
    this.tasks.afterRoute.schedule(empty);
    this.tasks.afterResponse.schedule(empty);
    return HELLO;
  }
}

/** (5) The design a user would write by hand: a request-scoped list flushed by an interceptor. */
@Injectable({ scope: Scope.REQUEST })
class RequestTaskList {
  readonly afterRoute: (() => Promise<void>)[] = [];
  readonly afterResponse: (() => Promise<void>)[] = [];
}

const run = (fns: (() => Promise<void>)[]) => {
  for (const fn of fns) void Promise.resolve().then(fn).catch(console.error);
};

@Injectable({ scope: Scope.REQUEST })
class RequestTaskInterceptor implements NestInterceptor {
  constructor(@Inject(RequestTaskList) private readonly list: RequestTaskList) {}
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const response = context.switchToHttp().getResponse<{ raw?: ServerResponse } & ServerResponse>();
    (response.raw ?? response).once('close', () => run(this.list.afterResponse));
    return next.handle().pipe(tap({ complete: () => run(this.list.afterRoute) }));
  }
}

@Controller()
class RequestScopedController {
  constructor(private readonly list: RequestTaskList) {}
  @Get() hello() {
    this.list.afterResponse.push(empty);
    return HELLO;
  }
}

/** Reference: fire-and-forget, the handler starts the work and does not track it. */
@Controller()
class FireAndForgetController {
  @Get() hello() {
    void empty();
    return HELLO;
  }
}

/** Reference: the after-response task a user writes by hand on the response's `close` event. */
@Controller()
class HandWrittenCloseController {
  @Get() hello(@Res({ passthrough: true }) res: { raw?: ServerResponse } & ServerResponse) {
    (res.raw ?? res).once('close', () => void empty());
    return HELLO;
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

@Module({ controllers: [FireAndForgetController] })
class FireAndForgetModule {}

@Module({ controllers: [HandWrittenCloseController] })
class HandWrittenCloseModule {}

@Module({ imports: [TasksModule.forRoot()], controllers: [UnusedController] })
class UnusedModule {}

@Module({ imports: [TasksModule.forRoot()], controllers: [AfterResponseController] })
class AfterResponseModule {}

@Module({ imports: [TasksModule.forRoot()], controllers: [PerModeController] })
class PerModeModule {}

@Module({
  controllers: [RequestScopedController],
  providers: [RequestTaskList, { provide: APP_INTERCEPTOR, useClass: RequestTaskInterceptor }],
})
class RequestScopedModule {}

const modules: Record<Variant, object> = {
  bare: BareModule,
  alsFloor: BareModule,
  fireAndForget: FireAndForgetModule,
  handWrittenClose: HandWrittenCloseModule,
  unused: UnusedModule,
  afterResponse: AfterResponseModule,
  perMode: PerModeModule,
  requestScoped: RequestScopedModule,
};

const storage = new AsyncLocalStorage<object>();

function openStorePerRequest(adapter: Adapter, server: unknown): void {
  type Next = () => void;
  if (adapter === 'fastify') {
    const fastify = server as { addHook(name: 'onRequest', hook: (q: unknown, r: unknown, done: Next) => void): void };
    fastify.addHook('onRequest', (_request, _reply, done) => storage.run({}, done));
  } else {
    const express = server as { use(fn: (q: unknown, r: unknown, next: Next) => void): void };
    express.use((_request, _response, next) => storage.run({}, next));
  }
}

/** Starts one variant on 127.0.0.1 (ephemeral port); returns its URL. */
export async function startVariant(
  adapter: Adapter,
  variant: Variant,
): Promise<{ url: string; app: INestApplication }> {
  const module = modules[variant];
  const httpAdapter = adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  const app = await NestFactory.create(module as never, httpAdapter, { logger: ['error', 'warn'] });
  if (variant === 'alsFloor') openStorePerRequest(adapter, httpAdapter.getInstance());
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { url, app };
}
