/**
 * The JSON tree every part of the Kubernetes simulator handles (objects as clients send and read
 * them), and the helpers they share. It imports nothing, so any module can use it without a cycle.
 */
import { isDeepStrictEqual } from 'node:util';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

export const sameJson = isDeepStrictEqual;
