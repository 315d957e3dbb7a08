import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { TRACKED, type Handler } from '../contexts/handler-outcome.js';
import { classMethodConfig, decoratedConfig, registerBound } from '../core/task.js';

/**
 * Binds every `@Task()` method of singleton providers and controllers to its instance, so
 * `tasks.schedule(this.mailer.send, id)` keeps `this` and still carries the method's config.
 * Request-scoped and transient instances are skipped (there is no one instance to bind to).
 */
@Injectable()
export class TasksExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance: unknown = wrapper.instance;
      if (instance === null || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      for (const name of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance))) {
        bindTaskMethod(instance as Record<string, unknown>, name);
      }
    }
  }
}

/**
 * Binds the method the class holds, which may be a wrapper a decorator above `@Task()` put in
 * its place: the wrapper is what must run, with `this` the instance.
 */
function bindTaskMethod(instance: Record<string, unknown>, name: string): void {
  const method = instance[name];
  if (typeof method !== 'function') return;
  // An own property is the instance's own business, unless it is the library's route wrapper:
  // a route handler that is also a @Task() method is bound like any other.
  if (Object.prototype.hasOwnProperty.call(instance, name) && (method as Handler)[TRACKED] !== true) return;
  const config = decoratedConfig(method) ?? classMethodConfig(instance, name);
  if (config === undefined) return;
  const bound: unknown = method.bind(instance);
  registerBound(bound as object, config);
  Object.defineProperty(instance, name, { value: bound, configurable: true, writable: true });
}
