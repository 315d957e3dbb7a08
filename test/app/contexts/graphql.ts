import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import type { DynamicModule } from '@nestjs/common';
import {
  Args,
  Context,
  Field,
  GraphQLModule,
  Int,
  Mutation,
  ObjectType,
  Parent,
  Query,
  ResolveField,
  Resolver,
} from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import type { ServerResponse } from 'node:http';
import type { AdapterName } from '../harness.js';
import { HandlerProbe } from './handler-probe.js';

/** What the two drivers put in a resolver's context. */
interface GraphqlContext {
  req?: { res?: ServerResponse };
  reply?: { raw: ServerResponse };
}

@ObjectType()
export class Order {
  @Field(() => Int)
  id!: number;
}

/**
 * Code-first resolvers covering each kind of GraphQL handler: a query, a mutation, a field
 * resolver with a parameter decorator (called through Nest's external context) and one without
 * (Nest's fast path binds the prototype method directly), and a resolver that throws.
 */
@Resolver(() => Order)
export class OrderResolver {
  constructor(private readonly handlers: HandlerProbe) {}

  @Query(() => String)
  hello(): string {
    this.handlers.ran('hello');
    return 'world';
  }

  @Query(() => Boolean)
  late(): boolean {
    this.handlers.ranLate('late');
    return true;
  }

  @Mutation(() => Boolean)
  startShielded(): boolean {
    this.handlers.ranShielded('startShielded');
    return true;
  }

  /** Nullable, so that one operation can carry its error next to a sibling's data. */
  @Query(() => String, { nullable: true })
  async fail(): Promise<string> {
    this.handlers.ran('fail');
    throw new Error('resolver failed');
  }

  @Mutation(() => Order)
  async placeOrder(@Args('id', { type: () => Int }) id: number, @Context() context: GraphqlContext): Promise<Order> {
    // The operation's HTTP response: Apollo's Express request holds it, Mercurius gives the reply.
    this.handlers.ran('placeOrder', context.req?.res ?? context.reply?.raw);
    return { id };
  }

  @ResolveField(() => String)
  receipt(@Parent() order: Order): string {
    this.handlers.ran('receipt');
    return `receipt-${order.id}`;
  }

  @ResolveField(() => String)
  status(): string {
    this.handlers.ran('status');
    return 'placed';
  }
}

/** A GraphQL driver, the HTTP adapter it runs on, and its module. */
export interface GraphqlDriverCase {
  driver: 'apollo' | 'mercurius';
  adapter: AdapterName;
  module: () => DynamicModule;
}

/** Apollo on Express (needs @as-integrations/express5 on Nest 12) and Mercurius on Fastify. */
export const graphqlDrivers: GraphqlDriverCase[] = [
  {
    driver: 'apollo',
    adapter: 'express',
    module: () =>
      GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, path: '/graphql' }),
  },
  {
    driver: 'mercurius',
    adapter: 'fastify',
    module: () =>
      GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true, path: '/graphql' }),
  },
];

/** The body of a GraphQL-over-HTTP response. */
export interface GraphqlBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[] }[];
}
