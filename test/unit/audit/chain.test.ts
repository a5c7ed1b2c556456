import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../shared/audit/canonical.ts';
import {
  type AuditEntry,
  EMPTY_CHAIN,
  GENESIS_HASH,
  hashOf,
  nextEntry,
  verifyChain,
} from '../../../shared/audit/chain.ts';
import type { ReceivedChangeEvent } from '../../../shared/events/envelope.ts';
import { auditEntry, chainReport } from '../../../shared/openapi/views.ts';

const event = (n: number, data: Record<string, unknown> = { id: 'prj_1', n }): ReceivedChangeEvent => ({
  id: `01JF3X5Y7Z9ABCDEFGHJKMN${String(n).padStart(3, '0')}`,
  source: 'slipway.catalog',
  type: n === 1 ? 'Project Created' : 'Project Updated',
  time: new Date(Date.UTC(2026, 10, 1, 12, 0, n)).toISOString(),
  actor: 'alice',
  subject: 'project/prj_1',
  request_id: `req-${n}`,
  project_id: 'prj_01jf3x5y7z9abcdefghjkmnpqr',
  data,
});

/** A chain of `length` entries, built the way the auditor appends them. */
function chain(length: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (let n = 1; n <= length; n++) entries.push(nextEntry(event(n), entries.at(-1) ?? EMPTY_CHAIN));
  return entries;
}
const headOf = (entries: AuditEntry[]) => ({
  seq: entries.at(-1)?.seq ?? 0,
  hash: entries.at(-1)?.hash ?? GENESIS_HASH,
});

describe('canonical JSON', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('is the same text whatever order the keys were written in', () => {
    expect(canonicalJson({ x: 1, y: { p: 'a', q: 'b' } })).toBe(canonicalJson({ y: { q: 'b', p: 'a' }, x: 1 }));
  });

  it('leaves out undefined fields, as a stored item would', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });
});

describe('sealing an entry', () => {
  it('starts a chain at seq 1 after 64 zeros', () => {
    const [first] = chain(1);
    expect(first).toMatchObject({ seq: 1, prev_hash: '0'.repeat(64), event_id: event(1).id, request_id: 'req-1' });
  });

  it('hashes prev_hash followed by the canonical JSON of the entry without its hash', () => {
    const [first] = chain(1) as [AuditEntry];
    const { hash, ...content } = first;
    const expected = createHash('sha256')
      .update(GENESIS_HASH + canonicalJson(content))
      .digest('hex');
    expect(hash).toBe(expected);
    expect(hashOf(first)).toBe(expected);
  });

  it('links each entry to the one before', () => {
    const entries = chain(3);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(entries[1]?.prev_hash).toBe(entries[0]?.hash);
    expect(entries[2]?.prev_hash).toBe(entries[1]?.hash);
  });

  it('names a missing request and project as null', () => {
    const { request_id: _r, project_id: _p, ...platform } = event(1);
    expect(nextEntry(platform, EMPTY_CHAIN)).toMatchObject({ request_id: null, project_id: null });
  });

  it('matches the documented entry schema', () => {
    for (const entry of chain(2)) expect(auditEntry.safeParse(entry).error).toBeUndefined();
  });
});

describe('verifying a chain', () => {
  it('accepts an untouched chain, with and without its head', () => {
    const entries = chain(5);
    expect(verifyChain(entries, headOf(entries))).toEqual({ valid: true });
    expect(verifyChain(entries)).toEqual({ valid: true });
    expect(verifyChain([], EMPTY_CHAIN)).toEqual({ valid: true });
  });

  it('refuses an entry whose data was altered', () => {
    const entries = chain(5);
    entries[2] = { ...(entries[2] as AuditEntry), data: { id: 'prj_1', n: 999 } };
    expect(verifyChain(entries, headOf(chain(5)))).toMatchObject({ valid: false, first_invalid_seq: 3 });
  });

  it('refuses an altered entry even when its own hash was recomputed: the next one no longer links', () => {
    const entries = chain(5);
    const forged = { ...(entries[1] as AuditEntry), actor: 'mallory' };
    entries[1] = { ...forged, hash: hashOf(forged) };
    expect(verifyChain(entries)).toMatchObject({ valid: false, first_invalid_seq: 3 });
  });

  it('refuses a chain with an entry removed from the middle', () => {
    const entries = chain(5);
    entries.splice(2, 1);
    expect(verifyChain(entries, headOf(chain(5)))).toEqual({
      valid: false,
      first_invalid_seq: 3,
      reason: 'entry 3 is missing',
    });
  });

  it('refuses a chain whose last entries were removed, by its head', () => {
    const full = chain(5);
    expect(verifyChain(full.slice(0, 3), headOf(full))).toMatchObject({ valid: false, first_invalid_seq: 4 });
  });

  it('refuses reordered entries', () => {
    const entries = chain(4);
    [entries[1], entries[2]] = [entries[2] as AuditEntry, entries[1] as AuditEntry];
    expect(verifyChain(entries, headOf(chain(4)))).toMatchObject({ valid: false, first_invalid_seq: 2 });
  });

  it('refuses entries whose seq numbers were swapped along with their places', () => {
    const entries = chain(4);
    const [second, third] = [entries[1] as AuditEntry, entries[2] as AuditEntry];
    entries[1] = { ...third, seq: 2 };
    entries[2] = { ...second, seq: 3 };
    expect(verifyChain(entries)).toMatchObject({ valid: false, first_invalid_seq: 2 });
  });

  it('refuses a head that does not match the last entry', () => {
    const entries = chain(3);
    expect(verifyChain(entries, { seq: 3, hash: 'f'.repeat(64) })).toMatchObject({
      valid: false,
      first_invalid_seq: 3,
    });
  });

  it('answers in the documented report shape', () => {
    const entries = chain(2);
    const verdict = verifyChain(entries.slice(1));
    const finding = { type: 'chain-broken', seq: verdict.first_invalid_seq, message: verdict.reason };
    const report = { subject: 'project/prj_1', entries: 1, ...verdict, checkpoint: null, findings: [finding] };
    expect(chainReport.safeParse(report).error).toBeUndefined();
    expect(report).toMatchObject({ valid: false, first_invalid_seq: 1 });
  });
});
