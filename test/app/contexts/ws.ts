import { Module, type INestApplication, type WebSocketAdapter } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway, WsException, type WsResponse } from '@nestjs/websockets';
import type { AddressInfo } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { TasksModule, TasksService } from '../../../lib/index.js';
import { RecordingLogger } from '../harness.js';
import { Probe } from '../probe.js';
import { HandlerProbe, handlerProbeProviders } from './handler-probe.js';

/** One path for both libraries: the `ws` server's path and socket.io's engine path. */
export const GATEWAY_PATH = '/ws';

/**
 * `@SubscribeMessage` handlers: a reply as `{ event, data }`, a plain value (socket.io's ack;
 * the `ws` adapter sends it as is), no reply, and a `WsException`.
 */
@WebSocketGateway({ path: GATEWAY_PATH })
export class EventsGateway {
  constructor(private readonly handlers: HandlerProbe) {}

  @SubscribeMessage('echo')
  echo(@MessageBody() data: string): WsResponse<string> {
    this.handlers.ran('echo');
    return { event: 'echo', data };
  }

  @SubscribeMessage('shout')
  async shout(@MessageBody() data: string): Promise<string> {
    this.handlers.ran('shout');
    return data.toUpperCase();
  }

  @SubscribeMessage('fire')
  fire(@MessageBody() data: string): void {
    this.handlers.ran(`fire:${data}`);
  }

  @SubscribeMessage('fail')
  fail(): never {
    this.handlers.ran('fail');
    throw new WsException('ws failed');
  }

  @SubscribeMessage('late')
  late(): WsResponse<boolean> {
    this.handlers.ranLate('late');
    return { event: 'late', data: true };
  }

  @SubscribeMessage('startShielded')
  startShielded(): WsResponse<boolean> {
    this.handlers.ranShielded('startShielded');
    return { event: 'startShielded', data: true };
  }
}

@Module({ imports: [TasksModule.forRoot()], providers: [...handlerProbeProviders, EventsGateway] })
class WsAppModule {}

/** The two gateway platforms, each with its own client library. */
export const gatewayPlatforms = ['ws', 'socket.io'] as const;
export type GatewayPlatform = (typeof gatewayPlatforms)[number];

const createWsAdapter: Record<GatewayPlatform, (app: INestApplication) => WebSocketAdapter> = {
  ws: (app) => new WsAdapter(app),
  'socket.io': (app) => new IoAdapter(app),
};

/** An HTTP app on 127.0.0.1 whose gateway shares its server. */
export interface GatewayApp {
  app: INestApplication;
  port: number;
  tasks: TasksService;
  probe: Probe;
  handlers: HandlerProbe;
  logger: RecordingLogger;
}

export async function startGateway(platform: GatewayPlatform): Promise<GatewayApp> {
  const moduleRef = await Test.createTestingModule({ imports: [WsAppModule] }).compile();
  const logger = new RecordingLogger();
  const app = moduleRef.createNestApplication(new ExpressAdapter(), { logger });
  app.useWebSocketAdapter(createWsAdapter[platform](app));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    port,
    tasks: app.get(TasksService),
    probe: app.get(Probe),
    handlers: app.get(HandlerProbe),
    logger,
  };
}

/** Rejects with `what` after `timeoutMs` unless `promise` settles first. */
export function within<T>(promise: Promise<T>, what: string, timeoutMs = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A `ws` client speaking Nest's `{ event, data }` JSON frames. */
export class NativeWsClient {
  private readonly received: unknown[] = [];
  private waiter?: (message: unknown) => void;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (raw: WebSocket.RawData) => {
      const message: unknown = JSON.parse(raw.toString());
      if (this.waiter === undefined) this.received.push(message);
      else this.waiter(message);
      this.waiter = undefined;
    });
  }

  static async connect(port: number): Promise<NativeWsClient> {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${GATEWAY_PATH}`);
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      }),
      'the ws connection',
    );
    return new NativeWsClient(socket);
  }

  send(event: string, data: unknown): void {
    this.socket.send(JSON.stringify({ event, data }));
  }

  /** The next frame the server sends (bounded wait). */
  next(): Promise<unknown> {
    const queued = this.received.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return within(new Promise((resolve) => (this.waiter = resolve)), 'a ws frame');
  }

  close(): void {
    this.socket.terminate();
  }
}

/** A socket.io client on the gateway's path, over WebSocket only. */
export async function connectSocketIo(port: number): Promise<Socket> {
  const socket = io(`http://127.0.0.1:${port}`, {
    path: GATEWAY_PATH,
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    }),
    'the socket.io connection',
  );
  return socket;
}

/** The next `event` the server emits to `socket` (bounded wait). */
export function nextEvent(socket: Socket, event: string): Promise<unknown> {
  return within(new Promise((resolve) => socket.once(event, resolve)), `socket.io event "${event}"`);
}
