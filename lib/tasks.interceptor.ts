import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { requestStorage } from './request-tasks.js';

/**
 * Tells the request's scheduler how the route handler ended: its observable completed
 * (afterRoute tasks start), errored (the request failed), or was unsubscribed without either
 * (the client left an `@Sse` stream: not a failure).
 */
@Injectable()
export class TasksInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.getType() === 'http' ? requestStorage.getStore() : undefined;
    if (request === undefined) return next.handle();
    request.handlerStarted();
    return new Observable((subscriber) => {
      const subscription = next.handle().subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          request.handlerSettled(false);
          subscriber.error(error);
        },
        complete: () => {
          request.handlerSettled(true);
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        request.handlerSettled(true);
      };
    });
  }
}
