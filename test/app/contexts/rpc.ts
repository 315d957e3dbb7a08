import { Controller, Module, type INestApplicationContext } from '@nestjs/common';
import {
  ClientProxyFactory,
  EventPattern,
  MessagePattern,
  Payload,
  RpcException,
  Transport,
  type ClientProxy,
} from '@nestjs/microservices';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { AddressInfo, Server } from 'node:net';
import { from, type Observable } from 'rxjs';
import { TasksModule, TasksService } from '../../../lib/index.js';
import { RecordingLogger } from '../harness.js';
import { Probe } from '../probe.js';
import { HandlerProbe, handlerProbeProviders } from './handler-probe.js';

/** Microservice handlers over TCP: request-response (value, promise, observable, throw) and an event. */
@Controller()
export class RpcHandlers {
  constructor(private readonly handlers: HandlerProbe) {}

  @MessagePattern('sum')
  sum(@Payload() numbers: number[]): number {
    this.handlers.ran('sum');
    return numbers.reduce((total, n) => total + n, 0);
  }

  @MessagePattern('double')
  async double(@Payload() n: number): Promise<number> {
    this.handlers.ran('double');
    return n * 2;
  }

  /** Each value is a reply packet; the stream's end is the last one. */
  @MessagePattern('count')
  count(@Payload() n: number): Observable<number> {
    this.handlers.ran('count');
    return from(Array.from({ length: n }, (_, i) => i + 1));
  }

  @MessagePattern('fail')
  fail(): never {
    this.handlers.ran('fail');
    throw new RpcException('rpc failed');
  }

  @MessagePattern('late')
  late(): boolean {
    this.handlers.ranLate('late');
    return true;
  }

  @MessagePattern('startShielded')
  startShielded(): boolean {
    this.handlers.ranShielded('startShielded');
    return true;
  }

  @EventPattern('notified')
  notified(@Payload() what: string): void {
    this.handlers.ran(`notified:${what}`);
  }
}

@Module({
  imports: [TasksModule.forRoot()],
  controllers: [RpcHandlers],
  providers: handlerProbeProviders,
})
class RpcAppModule {}

/** A microservice over TCP on 127.0.0.1, with a connected ClientProxy. */
export interface RpcApp {
  app: INestApplicationContext;
  client: ClientProxy;
  tasks: TasksService;
  probe: Probe;
  handlers: HandlerProbe;
  logger: RecordingLogger;
  /** Closes the client, then the app. */
  close(): Promise<void>;
}

/** How the microservice runs: on its own, or connected to an HTTP app (hybrid). */
export const rpcModes = ['standalone', 'hybrid'] as const;

const tcp = { transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 } } as const;

/** Boots the microservice on an ephemeral TCP port and connects a ClientProxy to it. */
export async function startRpc(mode: (typeof rpcModes)[number]): Promise<RpcApp> {
  const moduleRef = await Test.createTestingModule({ imports: [RpcAppModule] }).compile();
  const logger = new RecordingLogger();
  let app: INestApplicationContext;
  let server: Server;
  if (mode === 'standalone') {
    const microservice = moduleRef.createNestMicroservice({ ...tcp, logger });
    await microservice.listen();
    app = microservice;
    server = microservice.unwrap<Server>();
  } else {
    const http = moduleRef.createNestApplication(new ExpressAdapter(), { logger });
    const microservice = http.connectMicroservice(tcp);
    await http.startAllMicroservices();
    await http.listen(0, '127.0.0.1');
    app = http;
    server = microservice.unwrap<Server>();
  }
  const { port } = server.address() as AddressInfo;
  const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  await client.connect();
  return {
    app,
    client,
    tasks: app.get(TasksService),
    probe: app.get(Probe),
    handlers: app.get(HandlerProbe),
    logger,
    close: async () => {
      await client.close();
      await app.close();
    },
  };
}
