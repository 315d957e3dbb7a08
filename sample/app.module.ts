import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { TasksModule, type Task } from 'nestjs-tasks';
import { Mailer } from './mailer.service.js';
import { OrdersController } from './orders.controller.js';
import { OrdersResolver } from './orders.resolver.js';

const logger = new Logger('Report');

/** The global error handler: in a real app, send it to your error tracker. */
function report(task: Task, error: unknown): void {
  logger.error(`task "${task.name}" failed: ${error instanceof Error ? error.message : String(error)}`);
}

/** GraphQL at /graphql: Apollo on Express, Mercurius on Fastify (ADAPTER=fastify). */
const graphql =
  process.env.ADAPTER === 'fastify'
    ? GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true })
    : GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true });

@Module({
  imports: [TasksModule.forRoot({ onError: report, shield: false, shutdownTimeout: 10_000 }), graphql],
  controllers: [OrdersController],
  providers: [Mailer, OrdersResolver],
})
export class AppModule {
  /**
   * The app; given a Redis URL (REDIS_URL), also durable tasks on BullMQ and a worker. Imported
   * only then, so that the sample runs without Redis and never loads bullmq.
   */
  static async register(redisUrl = process.env.REDIS_URL): Promise<DynamicModule> {
    if (redisUrl === undefined || redisUrl === '') return { module: AppModule };
    const { ReceiptsModule } = await import('./receipts.module.js');
    return { module: AppModule, imports: [ReceiptsModule.forRedis(redisUrl)] };
  }
}
