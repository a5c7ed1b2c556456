import { invalid } from '../errors.ts';

type Json = Record<string, unknown>;

/**
 * RFC 7396 JSON Merge Patch: objects merge, `null` removes, anything else replaces. Fields in
 * `atomic` are replaced whole (a secret-bearing union the client cannot read back, say). The patch
 * comes from `req.body()`, so its depth and keys are already bounded (json.ts): the recursion is too.
 */
export function mergePatch(target: Json, patch: unknown, atomic: readonly string[] = []): Json {
  if (!isObject(patch)) throw invalid('A PATCH body must be a JSON object (RFC 7396 merge patch).');
  return merge(target, patch, atomic) as Json;
}

function merge(target: unknown, patch: unknown, atomic: readonly string[]): unknown {
  if (!isObject(patch)) return patch;
  const result: Json = isObject(target) ? { ...target } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else result[name] = atomic.includes(name) ? value : merge(result[name], value, []);
  }
  return result;
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Keeps only the named fields of a stored record: the part a PUT or PATCH may change. */
export const pick = (record: Json, fields: readonly string[]): Json =>
  Object.fromEntries(fields.filter((f) => record[f] !== undefined).map((f) => [f, record[f]]));
