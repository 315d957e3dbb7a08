/**
 * Type tests for call(), overloaded functions and chained task(), checked by `npm run typecheck`:
 * each `@ts-expect-error` fails the check if the line below it compiles.
 */
import { TasksService, type ConfiguredScheduler, type Task } from '../../lib/index.js';

declare const tasks: TasksService;

class Mailer {
  readonly from = 'shop@example.com';
  optional?: (id: string) => void;

  sendConfirmation(orderId: string, copies: number): Promise<void> {
    return Promise.resolve(void [orderId, copies, this.from]);
  }

  notify(to: string): void;
  notify(to: string[], cc: string): void;
  notify(to: string | string[], cc?: string): void {
    void [to, cc];
  }

  private secret(id: string): string {
    return id;
  }

  protected internal(): void {}

  useOwnPrivateMethod(): Task<[string]> {
    // @ts-expect-error private members are not keys of the type: call() cannot name them
    return tasks.call(this, 'secret', 'x');
  }
}
declare const mailer: Mailer;

// call(): the method name and the arguments are checked; the Task carries the argument types.
export const called: Task<[orderId: string, copies: number]> = tasks.call(mailer, 'sendConfirmation', 'o-1', 2);
tasks.afterRoute.call(mailer, 'sendConfirmation', 'o-1', 2);
tasks.afterResponse.task({ shield: true }).call(mailer, 'sendConfirmation', 'o-1', 2);
// @ts-expect-error an optional method may be missing, as calling `mailer.optional('o-1')` would be refused
tasks.call(mailer, 'optional', 'o-1');
// @ts-expect-error not a method of Mailer (a typo)
tasks.call(mailer, 'sendConfirmaton', 'o-1', 2);
// @ts-expect-error a property, not a method
tasks.afterResponse.call(mailer, 'from');
// @ts-expect-error protected members cannot be named either
tasks.call(mailer, 'internal');
// @ts-expect-error wrong argument type
tasks.afterResponse.call(mailer, 'sendConfirmation', 42, 2);
// @ts-expect-error an argument is missing
tasks.afterRoute.call(mailer, 'sendConfirmation', 'o-1');
// @ts-expect-error one argument too many
tasks.call(mailer, 'sendConfirmation', 'o-1', 2, 'extra');

// Overloaded methods and functions: the arguments of any overload are accepted.
tasks.call(mailer, 'notify', 'a@example.com');
tasks.call(mailer, 'notify', ['a@example.com'], 'b@example.com');
// @ts-expect-error no overload takes an array without cc
tasks.call(mailer, 'notify', ['a@example.com']);

declare function send(to: string): void;
declare function send(to: string[], cc: string): void;
export const first: Task<[to: string] | [to: string[], cc: string]> = tasks.schedule(send, 'a@example.com');
tasks.afterResponse.schedule(send, ['a@example.com'], 'b@example.com');
// @ts-expect-error no overload takes a number
tasks.schedule(send, 42);

// Only the last four overloads are seen (documented in the README).
declare function level(a: string): void;
declare function level(a: number, b: number): void;
declare function level(a: boolean, b: boolean, c: boolean): void;
declare function level(a: symbol, b: symbol, c: symbol, d: symbol): void;
declare function level(a: bigint, b: bigint, c: bigint, d: bigint, e: bigint): void;
tasks.schedule(level, 1, 2);
// @ts-expect-error the first of five overloads is not seen
tasks.schedule(level, 'first');

// A generic function's type parameter is inferred from the arguments.
export const generic: Task<[value: number]> = tasks.schedule(<T>(value: T) => value, 42);

// Unannotated parameters are still typed from the arguments.
tasks.schedule((id) => id.toUpperCase(), 'o-1');

// task() chains: each scheduler has task() too.
export const chained: ConfiguredScheduler = tasks.afterRoute.task({ name: 'n' }).task({ shield: true });
chained.task({ always: true }).schedule(send, 'a@example.com');
// @ts-expect-error options are still checked along the chain
chained.task({ sheild: true });
