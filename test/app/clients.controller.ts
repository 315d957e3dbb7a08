import { Controller, Get, Param, Res, StreamableFile } from '@nestjs/common';
import { Readable } from 'node:stream';
import { TasksService } from '../../lib/index.js';
import { Probe } from './probe.js';
import { rawResponse } from './raw.js';

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

  @Get('count/:id')
  count(@Param('id') id: string) {
    this.tasks.schedule(() => this.probe.record(`immediate:${id}`));
    this.tasks.afterRoute.schedule(() => this.probe.record(`afterRoute:${id}`));
    this.tasks.afterResponse.schedule(() => this.probe.record(`afterResponse:${id}`));
    return { id };
  }
}
