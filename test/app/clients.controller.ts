import { Controller, Get, type MessageEvent, Param, Res, Sse, StreamableFile } from '@nestjs/common';
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { finalize, interval, map, type Observable } from 'rxjs';
import { TasksService } from '../../lib/index.js';
import { Probe } from './probe.js';
import { rawResponse } from './raw.js';

/** How many listeners `emitter` has, per event. */
const listenerCounts = (emitter: EventEmitter): Record<string, number> =>
  Object.fromEntries(emitter.eventNames().map((name) => [String(name), emitter.listenerCount(name)]));

/** A number per socket, so a test can tell that its requests shared one connection. */
const socketIds = new WeakMap<Socket, number>();
let sockets = 0;
const socketId = (socket: Socket) => socketIds.get(socket) ?? (socketIds.set(socket, ++sockets), sockets);

@Controller('clients')
export class ClientsController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  /** A slow stream: 50 chunks, one every 20 ms, so a client can leave mid-body. */
  @Get('stream/:tasks')
  stream(@Param('tasks') withTasks: string, @Res({ passthrough: true }) response: unknown) {
    const raw = rawResponse(response);
    const label = withTasks === 'with-tasks' ? 'stream' : 'control';
    raw.once('close', () => {
      this.probe.record(`${label}:closed:finished=${raw.writableFinished}`);
      setImmediate(() => {
        this.probe.record(`${label}:close-listeners-left=${raw.listenerCount('close')}`);
        this.probe.record(`${label}:listeners-checked`);
      });
    });
    if (label === 'stream') {
      this.tasks.afterRoute.schedule(() => this.probe.record('stream:afterRoute'));
      this.tasks.afterResponse.schedule(() => this.probe.record('stream:afterResponse'));
    }
    let sent = 0;
    const body = new Readable({
      read() {
        setTimeout(() => this.push(sent++ < 50 ? `chunk-${sent};` : null), 20);
      },
    });
    return new StreamableFile(body);
  }

  /**
   * One request of many on a keep-alive connection: answers with the listeners its socket holds
   * before this request adds any (so what earlier requests left), and records the listeners left
   * on its response once that has closed.
   */
  @Get('keep-alive/:tasks/:n')
  keepAlive(@Param('tasks') withTasks: string, @Param('n') n: string, @Res({ passthrough: true }) response: unknown) {
    const raw = rawResponse(response);
    const socket = raw.socket!;
    const before = listenerCounts(socket);
    const label = withTasks === 'with-tasks' ? 'keep-alive' : 'keep-alive-control';
    raw.once('close', () =>
      setImmediate(() => {
        this.probe.record(`${label}:${n}:left=${JSON.stringify(listenerCounts(raw))}`);
        this.probe.record(`${label}:${n}:checked`);
      }),
    );
    if (label === 'keep-alive') {
      this.tasks.afterRoute.schedule(() => this.probe.record(`keep-alive:${n}:afterRoute`));
      this.tasks.afterResponse.schedule(() => this.probe.record(`keep-alive:${n}:afterResponse`));
    }
    return { socket: socketId(socket), listeners: before };
  }

  /** An endless `@Sse` stream, one event every 20 ms: it ends only when the client leaves. */
  @Sse('sse-endless')
  sseEndless(@Res({ passthrough: true }) response: unknown): Observable<MessageEvent> {
    const raw = rawResponse(response);
    raw.once('close', () => this.probe.record(`sse:closed:finished=${raw.writableFinished}`));
    this.tasks.afterRoute.task({ name: 'sse:afterRoute' }).schedule(() => this.probe.record('sse:afterRoute'));
    this.tasks.afterResponse.task({ name: 'sse:afterResponse' }).schedule(() => this.probe.record('sse:afterResponse'));
    return interval(20).pipe(
      map((index) => ({ data: { index } })),
      finalize(() => this.probe.record('sse:source-finalized')),
    );
  }

  @Get('count/:id')
  count(@Param('id') id: string) {
    this.tasks.schedule(() => this.probe.record(`immediate:${id}`));
    this.tasks.afterRoute.schedule(() => this.probe.record(`afterRoute:${id}`));
    this.tasks.afterResponse.schedule(() => this.probe.record(`afterResponse:${id}`));
    return { id };
  }
}
