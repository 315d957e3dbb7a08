import { Context, Query, Resolver, Subscription } from '@nestjs/graphql';
import { TasksService } from '../../../lib/index.js';
import { Probe } from '../probe.js';

/** Mercurius's publish/subscribe, as its resolvers' context holds it. */
interface PubSub {
  subscribe(topic: string): Promise<AsyncIterable<unknown>>;
}

/** A subscription resolver that tries each deferred mode, and records what happened. */
@Resolver()
export class TickResolver {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  @Query(() => String)
  ping(): string {
    return 'pong';
  }

  @Subscription(() => String, { resolve: (payload: { ticked: string }) => payload.ticked })
  ticked(@Context('pubsub') pubsub: PubSub) {
    for (const mode of ['afterRoute', 'afterResponse'] as const) {
      try {
        this.tasks[mode].task({ name: `subscription:${mode}` }).schedule(() => this.probe.record(`${mode}:ran`));
        this.probe.record(`${mode}:scheduled`);
      } catch (error) {
        this.probe.record(`${mode}:threw:${(error as Error).name}`);
      }
    }
    this.tasks.task({ name: 'subscription:immediate' }).schedule(() => this.probe.record('immediate:ran'));
    return pubsub.subscribe('TICKED');
  }
}
