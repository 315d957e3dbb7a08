import { TasksError } from '../core/tasks.errors.js';
import { durableMessages } from './durable.messages.js';

/** How a Date travels: JSON would turn it into a string. */
const DATE_KEY = '@nestjs-tasks/date';

/**
 * The arguments of a durable task as JSON-safe data, or a {@link TasksError} naming the first
 * one that would not arrive as sent (functions, symbols, BigInt, non-finite numbers, `undefined`
 * in a list, class instances other than Date, cycles). Dates are tagged to arrive as Dates.
 */
export function encodeArgs(name: string, args: readonly unknown[]): unknown[] {
  return args.map((arg, index) => encode(arg, { name, index, path: `argument ${index}`, parents: new Set() }));
}

/** The arguments as the task was scheduled with: tagged Dates made Dates again. */
export function decodeArgs(args: readonly unknown[]): unknown[] {
  return args.map(decode);
}

interface Where {
  name: string;
  index: number;
  path: string;
  parents: Set<object>;
}

function encode(value: unknown, where: Where): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      return refuse(value, where, 'which JSON stores as null');
    case 'object':
      return value === null ? null : encodeObject(value, where);
    case 'undefined':
      return refuse(value, where, 'which JSON stores as null in a list');
    default:
      return refuse(value, where, `and a ${typeof value} has no JSON form`);
  }
}

function encodeObject(value: object, where: Where): unknown {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return refuse(value, where, 'an invalid Date');
    return { [DATE_KEY]: value.toISOString() };
  }
  if (where.parents.has(value)) return refuse(value, where, 'a cycle (it contains itself)');
  const proto: unknown = Object.getPrototypeOf(value);
  const isArray = Array.isArray(value);
  if (!isArray && proto !== Object.prototype && proto !== null) {
    return refuse(
      value,
      where,
      `an instance of ${className(value)}, which would arrive as a plain object or not at all`,
    );
  }
  where.parents.add(value);
  const inner = (key: string | number, item: unknown) =>
    encode(item, { ...where, path: isArray ? `${where.path}[${key}]` : `${where.path}.${key}` });
  const result = isArray
    ? (value as unknown[]).map((item, i) => inner(i, item))
    : Object.fromEntries(
        Object.entries(value)
          .filter(([, item]) => item !== undefined)
          .map(([key, item]) => [key, inner(key, item)]),
      );
  where.parents.delete(value);
  return result;
}

function refuse(value: unknown, where: Where, reason: string): never {
  throw new TasksError(durableMessages.notJson(where.name, where.index, where.path, value, reason));
}

function className(value: object): string {
  const name: unknown = (value.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name : 'a class';
}

function decode(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(decode);
  const record = value as Record<string, unknown>;
  const date = record[DATE_KEY];
  if (typeof date === 'string' && Object.keys(record).length === 1) return new Date(date);
  return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, decode(item)]));
}
