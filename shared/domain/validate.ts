import * as z from 'zod/mini';
import { type InvalidParam, invalid } from '../errors.ts';

/** Parses untrusted input with a strict schema; every issue becomes an invalid_params entry. */
export function validate<S extends z.ZodMiniType>(schema: S, input: unknown, what = 'The body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const params: InvalidParam[] = result.error.issues.slice(0, 20).map((issue) => ({
    name: issue.path.join('.') || (issue.code === 'unrecognized_keys' ? (issue.keys ?? []).join(',') : '(root)'),
    reason: issue.code === 'unrecognized_keys' ? `unknown field(s): ${(issue.keys ?? []).join(', ')}` : issue.message,
  }));
  throw invalid(`${what} does not match the schema.`, params);
}

/** Any JSON object: a merge patch, validated after merging against the resource's own schema. */
export const jsonObject = z.record(z.string(), z.unknown());
