import { preconditionRequired } from '../errors.ts';

/** Strong ETag from the item's version counter: cheap, exact, and what a conditional write checks. */
export const etagOf = (version: number): string => `"v${version}"`;

/**
 * The version the client read, from If-Match. Missing → 428 (we never allow blind overwrites);
 * `*` or a malformed tag yields a version that cannot match, so the write answers 412.
 */
export function expectedVersion(ifMatch: string | undefined): number {
  if (!ifMatch) throw preconditionRequired();
  const match = /^(?:W\/)?"v(\d{1,15})"$/.exec(ifMatch.trim());
  return match ? Number(match[1]) : -1;
}
