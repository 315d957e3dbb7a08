// The README's "Every entry point" and "Shutdown" examples, compiled by `npm run typecheck`
// (test/readme.spec.ts checks that each is here, as one run of lines).
import { Controller, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Args, Field, ID, Mutation, ObjectType, Resolver } from '@nestjs/graphql';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { TasksService } from 'nestjs-tasks';
import { Mailer } from './quick-start.js';
import { PrismaClient, audit } from './stubs.js';

@ObjectType()
export class Order {
  @Field(() => ID)
  id!: string;
}

@Resolver(() => Order)
export class OrderResolver {
  constructor(
    private readonly tasks: TasksService,
    private readonly mailer: Mailer,
  ) {}

  @Mutation(() => Order)
  placeOrder(@Args('id') id: string): Order {
    this.tasks.afterResponse.call(this.mailer, 'sendConfirmation', id); // after the HTTP response
    return { id };
  }
}

@Controller()
export class OrderEvents {
  constructor(private readonly tasks: TasksService) {}

  @MessagePattern('order.place')
  place(@Payload() id: string): string {
    this.tasks.afterResponse.schedule(audit, id); // after the reply was handed to the transport
    return id;
  }
}

@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  constructor(private readonly tasks: TasksService) {
    super();
  }
  async onModuleDestroy() {
    await this.tasks.drained();
    await this.$disconnect();
  }
}
