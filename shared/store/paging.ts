import { createHmac, timingSafeEqual } from 'node:crypto';
import { config } from '../config.ts';
import { invalidCursor } from '../errors.ts';

/**
 * Paging of the store's lists: a page of items and the signed cursor of the next one. A cursor is
 * a storage position, so the store seals and opens it; the HTTP edge only passes it through.
 */

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;
export const MAX_CURSOR_LENGTH = 1024;
/** Shortest SLIPWAY_CURSOR_KEY accepted: 32 characters (AWS generates 64, the local cloud 43). */
export const MIN_CURSOR_KEY_LENGTH = 32;

export interface PageRequest {
  limit: number;
  /** The client's cursor as sent: opaque, and opened only by the list that sealed it (`listCursors`). */
  cursor: string | undefined;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Where a list resumes: string attributes only (a DynamoDB key without its partition, or an id). */
export type Position = Record<string, string>;

/** `<base64url JSON position>.<base64url HMAC-SHA256>` (the OpenAPI document shows it too). */
export const CURSOR_PATTERN = '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$';
export const CURSOR_FORMAT = new RegExp(CURSOR_PATTERN);

export interface ListCursors {
  /** The position a client's cursor names, or undefined without one; 400 unless this list sealed it. */
  open(cursor: string | undefined): Position | undefined;
  /** The cursor for the next page, or null on the last one. */
  seal(position: Position | undefined): string | null;
}

/**
 * The cursors of one list, named by `list` (e.g. index, partition and prefix of a Query). A cursor
 * is its position signed with HMAC-SHA256 over the list's name (key: SLIPWAY_CURSOR_KEY), so a
 * forged or altered cursor, or one from another list, never reaches the store. `fields` are the
 * exact attributes a position of this list has. Without a key every list fails (500, logged):
 * lists never sign with a default.
 */
export function listCursors(list: readonly string[], fields: readonly string[]): ListCursors {
  const key = cursorKey();
  const mac = (payload: string) =>
    createHmac('sha256', key)
      .update(JSON.stringify(['slipway-cursor-1', ...list, payload]))
      .digest();
  return {
    open(cursor) {
      if (cursor === undefined) return undefined;
      const [payload = '', signature = ''] = cursor.split('.');
      const given = Buffer.from(signature, 'base64url');
      const expected = mac(payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidCursor();
      const position = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Position;
      if (!hasExactly(position, fields)) throw invalidCursor();
      return position;
    },
    seal(position) {
      if (position === undefined) return null;
      if (!hasExactly(position, fields)) throw new Error(`A position of list ${list.join(' ')} has other fields`);
      const payload = Buffer.from(JSON.stringify(position)).toString('base64url');
      const cursor = `${payload}.${mac(payload).toString('base64url')}`;
      if (cursor.length > MAX_CURSOR_LENGTH) throw new Error(`A cursor of list ${list.join(' ')} is too long`);
      return cursor;
    },
  };
}

function cursorKey(): string {
  const key = config.cursorKey ?? '';
  if (key.length < MIN_CURSOR_KEY_LENGTH) {
    throw new Error(
      `SLIPWAY_CURSOR_KEY is missing or shorter than ${MIN_CURSOR_KEY_LENGTH} characters: lists cannot sign their cursors`,
    );
  }
  return key;
}

const hasExactly = (position: unknown, fields: readonly string[]): position is Position =>
  typeof position === 'object' &&
  position !== null &&
  !Array.isArray(position) &&
  Object.keys(position).length === fields.length &&
  fields.every((f) => typeof (position as Record<string, unknown>)[f] === 'string');
