import { timingSafeEqual } from 'node:crypto';

/** Compares two texts in time that does not depend on where they differ (never leaks a prefix). */
export function sameText(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A request timestamp (seconds or milliseconds since the epoch, as text) within `windowSeconds` of now. */
export function isFresh(
  timestamp: string | undefined,
  nowMs: number,
  windowSeconds: number,
  unit: 's' | 'ms',
): boolean {
  if (timestamp === undefined || !/^\d{1,16}$/.test(timestamp)) return false;
  const ms = unit === 's' ? Number(timestamp) * 1000 : Number(timestamp);
  return Math.abs(nowMs - ms) <= windowSeconds * 1000;
}

/**
 * Canonical standard base64 only (what the platforms send): rejects text Node's lenient decoder would
 * half-read, and the variants of one value that differ in the unused bits before `=` (else two
 * ciphertext texts would be the same ciphertext).
 */
export function strictBase64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}
