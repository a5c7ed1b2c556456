import { notFound } from '../errors.ts';
import type { IdPrefix } from '../store/ids.ts';

/** Path ids are checked before any read: a malformed id cannot name anything, so it is a plain 404. */
export function pathId(value: string | undefined, prefix: IdPrefix, what: string): string {
  if (!value || !new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`).test(value)) throw notFound(what);
  return value;
}

export function pathName(value: string | undefined, what: string): string {
  if (!value || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) throw notFound(what);
  return value;
}

export function pathSubject(value: string | undefined, what: string): string {
  if (!value || !/^[\x21-\x7e]{1,256}$/.test(value) || value.includes('#')) throw notFound(what);
  return value;
}
