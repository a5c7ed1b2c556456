import { conflict, type DomainError, notFound, staleVersion } from '../errors.ts';
import type { Item, Key, Write } from './table.ts';

/**
 * The writes every resource shares: create once, replace at the version read, delete at the
 * version read (optionally only when it has no children), claim a unique name, count children.
 * Storage-only attributes are keys (PK, SK, GSI*) or start with `_`; `present` strips them.
 */

/** A new record's common fields; `creator` is whoever asked (anything with a subject: a caller, an actor). */
export function stamp(id: string, creator: { sub: string }, fields: Record<string, unknown>): Item {
  const now = new Date().toISOString();
  return { id, ...fields, version: 1, created_at: now, updated_at: now, created_by: creator.sub };
}

export function present<T = Record<string, unknown>>(item: Item): T {
  const view: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (name === 'PK' || name === 'SK' || name.startsWith('GSI') || name.startsWith('_') || name === 'expiresAt')
      continue;
    view[name] = value;
  }
  return view as T;
}

export const createRecord = (item: Item, what: string): Write => ({
  put: item,
  condition: 'attribute_not_exists(PK)',
  onFail: () => conflict('already-exists', `${what} already exists.`),
});

/** Names are unique in their namespace: a name record claims one, inside the create's transaction. */
export const claimName = (key: Key, ownerId: string, what: string): Write => ({
  put: { ...key, owner: ownerId },
  condition: 'attribute_not_exists(PK)',
  onFail: (current) =>
    conflict('name-taken', `${what} is already taken${current?.owner ? ` (by ${current.owner})` : ''}.`),
});

export const releaseName = (key: Key): Write => ({
  delete: key,
  onFail: () => conflict('name-taken', 'name record changed'),
});

/** Replaces the whole record if it is still at the version the client read (If-Match). */
export function replaceRecord(
  current: Item,
  changes: Record<string, unknown>,
  expected: number,
  what: string,
): { item: Item; write: Write } {
  const item: Item = {
    ...current,
    ...changes,
    version: (current.version as number) + 1,
    updated_at: new Date().toISOString(),
  };
  for (const [name, value] of Object.entries(changes)) if (value === undefined) delete item[name];
  return {
    item,
    write: {
      put: item,
      condition: '#version = :expected',
      names: { '#version': 'version' },
      values: { ':expected': expected },
      onFail: (old) => (old ? staleVersion() : notFound(what)),
    },
  };
}

/**
 * Deletes at the version read. With child counters, refuses while children remain: the counters
 * are kept by the children's own transactions, so no child can slip in between check and delete.
 */
export function deleteRecord(
  key: Key,
  expected: number,
  what: string,
  ...childCounters: { attr: string; children: string }[]
): Write {
  const names: Record<string, string> = { '#version': 'version' };
  const conditions = ['#version = :expected'];
  childCounters.forEach(({ attr }, i) => {
    names[`#count${i}`] = attr;
    conditions.push(`(attribute_not_exists(#count${i}) OR #count${i} = :zero)`);
  });
  return {
    delete: key,
    condition: conditions.join(' AND '),
    names,
    values: { ':expected': expected, ...(childCounters.length > 0 ? { ':zero': 0 } : {}) },
    onFail: (old): DomainError => {
      if (!old) return notFound(what);
      if (old.version !== expected) return staleVersion();
      const left = childCounters.find(({ attr }) => Number(old[attr] ?? 0) !== 0);
      return conflict('has-children', `${what} still has ${left?.children ?? 'children'}: delete them first.`);
    },
  };
}

/** Adds `delta` to a parent's child counter; the parent must exist (and the caller's read of it stands). */
export const countChild = (parent: Key, attr: string, delta: 1 | -1, parentWhat: string): Write => ({
  update: parent,
  set: 'ADD #count :delta',
  condition: 'attribute_exists(PK)',
  names: { '#count': attr },
  values: { ':delta': delta },
  onFail: () => notFound(parentWhat),
});
