import { Field, ID, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { TasksService } from 'nestjs-tasks';
import { Mailer } from './mailer.service.js';
import { work } from './work.js';

@ObjectType()
export class PlacedOrder {
  @Field(() => ID)
  id!: string;
}

let nextId = 1;

/** The same three modes in a GraphQL resolver: afterResponse waits for the operation's HTTP response. */
@Resolver(() => PlacedOrder)
export class OrdersResolver {
  constructor(
    private readonly tasks: TasksService,
    private readonly mailer: Mailer,
  ) {}

  @Query(() => String)
  health(): string {
    return 'ok';
  }

  @Mutation(() => PlacedOrder)
  placeOrder(): PlacedOrder {
    const id = `g-${nextId++}`;
    this.tasks.schedule(work, `warm_cache ${id}`, 500); // immediate
    this.tasks.afterRoute.schedule(work, `finalize ${id}`, 1000); // after this resolver
    this.tasks.afterResponse.call(this.mailer, 'sendConfirmation', id); // after the HTTP response
    return { id };
  }
}
