import { jsonTooDeep, malformedJson, reservedJsonKey } from './problem.ts';

/**
 * How deep a JSON body may nest (the root object or array is level 1). No request schema nests
 * deeper than 3, so this refuses nothing we accept, and it keeps every recursive walk over a body
 * (merge patch, canonical JSON for idempotency fingerprints, zod, DynamoDB marshalling) far from
 * the stack limit (ADR 14).
 */
export const MAX_JSON_DEPTH = 16;

/**
 * Keys that reach an object's prototype when assigned or merged. JSON.parse makes them plain own
 * properties; spreading, merging or copying such an object is where prototype pollution happens.
 */
export const RESERVED_JSON_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** JSON.parse for client bodies: malformed, too deep or using a reserved key anywhere is a 400. */
export function parseJsonBody(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw malformedJson((error as Error).message);
  }
  checkJsonValue(value);
  return value;
}

export interface JsonLimits {
  maxDepth: number;
  reservedKeys: readonly string[];
}

/** What a request body may be: the API's limits. */
export const BODY_LIMITS: JsonLimits = { maxDepth: MAX_JSON_DEPTH, reservedKeys: RESERVED_JSON_KEYS };

/** Throws the body's first problem: nested too deep, or a reserved key. */
export function checkJsonValue(root: unknown): void {
  const violation = jsonViolation(root, BODY_LIMITS);
  if (violation?.reason === 'too-deep') throw jsonTooDeep(MAX_JSON_DEPTH, violation.at);
  if (violation) throw reservedJsonKey(RESERVED_JSON_KEYS, violation.at);
}

/**
 * Where a parsed JSON value first breaks `limits`, found without recursion (a deep value cannot
 * overflow the check itself). `at` is a path like `a[0].b`.
 */
export function jsonViolation(
  root: unknown,
  limits: JsonLimits,
): { reason: 'too-deep' | 'reserved-key'; at: string } | undefined {
  const pending: { value: unknown; depth: number; at: string }[] = [{ value: root, depth: 1, at: '' }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, depth, at } = next;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > limits.maxDepth) return { reason: 'too-deep', at };
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) pending.push({ value: item, depth: depth + 1, at: `${at}[${i}]` });
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      const path = at ? `${at}.${key}` : key;
      if (limits.reservedKeys.includes(key)) return { reason: 'reserved-key', at: path };
      pending.push({ value: item, depth: depth + 1, at: path });
    }
  }
  return undefined;
}
