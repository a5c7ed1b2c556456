import { invalid, invalidCursor } from '../errors.ts';

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

export interface PageRequest {
  limit: number;
  /** The decoded position to resume from; opaque to clients. */
  after: Record<string, string> | undefined;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export function parsePageRequest(query: Record<string, string | undefined>): PageRequest {
  const rawLimit = query.limit;
  let limit = DEFAULT_LIMIT;
  if (rawLimit !== undefined) {
    if (!/^\d{1,4}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > MAX_LIMIT) {
      throw invalid(`limit must be an integer from 1 to ${MAX_LIMIT}.`, [{ name: 'limit', reason: 'out of range' }]);
    }
    limit = Number(rawLimit);
  }
  return { limit, after: query.cursor === undefined ? undefined : decodeCursor(query.cursor) };
}

/** Cursors are base64url JSON of a key of string attributes; anything else is refused as 400. */
export function encodeCursor(key: Record<string, unknown> | undefined): string | null {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : null;
}

function decodeCursor(cursor: string): Record<string, string> {
  if (cursor.length === 0 || cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidCursor();
  const entries = Object.entries(value);
  if (
    entries.length === 0 ||
    entries.length > 4 ||
    !entries.every(([, v]) => typeof v === 'string' && v.length <= 512)
  ) {
    throw invalidCursor();
  }
  return value as Record<string, string>;
}
