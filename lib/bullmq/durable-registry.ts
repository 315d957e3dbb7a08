import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { classMethodConfig } from '../core/task.js';
import type { TaskConfig } from '../core/task-config.js';
import { TasksError } from '../core/tasks.errors.js';
import { durableMessages } from './durable.messages.js';

/** A named `@Task()` method of a singleton provider: what a job of that name runs. */
export interface TaskMethod {
  readonly name: string;
  readonly instance: Record<string, unknown>;
  readonly key: string;
  /** `Class.method`, for messages. */
  readonly owner: string;
  /** The method's `@Task()` config. */
  readonly config: TaskConfig;
}

/**
 * Finds every named `@Task()` method of singleton providers and controllers, by name. Refuses
 * at start-up a durable one without a name, on a request-scoped or transient provider, or
 * sharing its name with another.
 */
@Injectable()
export class DurableRegistry implements OnModuleInit {
  private methods?: Map<string, TaskMethod[]>;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    this.all();
  }

  /** The methods named `name`: none, one, or several (refused if durable). */
  get(name: string): readonly TaskMethod[] {
    return this.all().get(name) ?? [];
  }

  names(): string[] {
    return [...this.all().keys()];
  }

  private all(): Map<string, TaskMethod[]> {
    if (this.methods !== undefined) return this.methods;
    const methods = new Map<string, TaskMethod[]>();
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance: unknown = wrapper.instance;
      if (instance === null || typeof instance !== 'object') continue;
      for (const key of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance))) {
        const config = classMethodConfig(instance, key);
        if (config === undefined) continue;
        const owner = `${instance.constructor.name}.${key}`;
        if (config.name === undefined) {
          if (config.durable === true) throw new TasksError(durableMessages.unnamedMethod(owner));
          continue;
        }
        // A transient provider's tree is static, yet each injection gets an instance of its own.
        if (wrapper.isTransient || !wrapper.isDependencyTreeStatic()) {
          if (config.durable === true) throw new TasksError(durableMessages.notSingleton(owner, config.name));
          continue;
        }
        const found = methods.get(config.name) ?? [];
        // A provider exported to several modules is discovered once per module.
        if (found.some((method) => method.instance === instance && method.key === key)) continue;
        const method = { name: config.name, instance: instance as Record<string, unknown>, key, owner, config };
        methods.set(config.name, [...found, method]);
      }
    }
    for (const [name, found] of methods) {
      if (found.length > 1 && found.some((method) => method.config.durable === true)) {
        throw new TasksError(
          durableMessages.duplicateName(
            name,
            found.map((method) => method.owner),
          ),
        );
      }
    }
    return (this.methods = methods);
  }
}
