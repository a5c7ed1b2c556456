import { invalid, invalidCursor } from '../errors.ts';
import { CURSOR_FORMAT, DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, type PageRequest } from '../store/paging.ts';

export { DEFAULT_LIMIT, MAX_LIMIT, type Page, type PageRequest } from '../store/paging.ts';

/** `?limit=` and `?cursor=` of a list request: the limit bounded, the cursor passed on to the list that sealed it. */
export function parsePageRequest(query: Record<string, string | undefined>): PageRequest {
  const rawLimit = query.limit;
  let limit = DEFAULT_LIMIT;
  if (rawLimit !== undefined) {
    if (!/^\d{1,4}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > MAX_LIMIT) {
      throw invalid(`limit must be an integer from 1 to ${MAX_LIMIT}.`, [{ name: 'limit', reason: 'out of range' }]);
    }
    limit = Number(rawLimit);
  }
  const { cursor } = query;
  // The shape is checked here, before any read; the signature by the list that reads it.
  if (cursor !== undefined && (cursor.length > MAX_CURSOR_LENGTH || !CURSOR_FORMAT.test(cursor))) throw invalidCursor();
  return { limit, cursor };
}
