import { canonicalJson } from '../audit/canonical.ts';

/**
 * The names of the fields an update changed, for its change event: consumers (the audit log,
 * notifications) learn what moved without diffing two views themselves.
 */
export function changedFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  fields: readonly string[],
): string[] {
  return fields.filter((field) => canonicalJson(before[field] ?? null) !== canonicalJson(after[field] ?? null));
}
