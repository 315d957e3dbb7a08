import { Module, type DynamicModule } from '@nestjs/common';
import { DurableTasksModule } from 'nestjs-tasks/bullmq';
import { PaymentsController } from './payments.controller.js';
import { Receipts } from './receipts.service.js';

/** The BullMQ queue of the sample's durable tasks. */
export const RECEIPTS_QUEUE = 'sample-receipts';

/**
 * Durable tasks on BullMQ, imported by AppModule only when REDIS_URL is set: this process hands
 * `send_receipt` to Redis and runs a worker that takes it (another process with the same module
 * and REDIS_URL, on any machine, would take its share).
 */
@Module({})
export class ReceiptsModule {
  static forRedis(url: string): DynamicModule {
    return {
      module: ReceiptsModule,
      imports: [DurableTasksModule.forRoot({ connection: connectionOf(url), queue: RECEIPTS_QUEUE, worker: true })],
      controllers: [PaymentsController],
      providers: [Receipts],
    };
  }
}

/** ioredis options from `redis://[user:password@]host[:port][/db]` (`rediss://` for TLS). */
function connectionOf(url: string) {
  const { protocol, hostname, port, username, password, pathname } = new URL(url);
  return {
    host: hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(port || 6379),
    db: Number(pathname.slice(1) || 0),
    ...(username !== '' && { username: decodeURIComponent(username) }),
    ...(password !== '' && { password: decodeURIComponent(password) }),
    ...(protocol === 'rediss:' && { tls: {} }),
  };
}
