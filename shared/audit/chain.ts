import { createHash } from 'node:crypto';
import type { ReceivedChangeEvent } from '../events/envelope.ts';
import { canonicalJson } from './canonical.ts';

/**
 * The audit log is one hash chain per subject: each entry's hash covers its contents and the
 * previous entry's hash, so altering, removing or reordering an entry breaks every hash after it.
 * Pure functions only; shared/audit/append.ts and queries.ts store and read the entries.
 */

/** The `prev_hash` of a subject's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  /** 1, 2, 3, … per subject, without gaps. */
  seq: number;
  /** The ChangeEvent's id: one entry per event. */
  event_id: string;
  time: string;
  actor: string;
  subject: string;
  type: string;
  source: string;
  request_id: string | null;
  project_id: string | null;
  data: unknown;
  prev_hash: string;
  hash: string;
}

/** Where a subject's chain ends: the last entry's seq and hash (none yet: seq 0, the genesis hash). */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_CHAIN: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** sha256(prev_hash + canonical JSON of the entry without its hash), hex. */
export function hashOf(entry: Omit<AuditEntry, 'hash'> | AuditEntry): string {
  const { hash: _hash, ...content } = entry as AuditEntry;
  return createHash('sha256').update(content.prev_hash).update(canonicalJson(content)).digest('hex');
}

/** The entry that appends `event` after `head`. */
export function nextEntry(event: ReceivedChangeEvent, head: ChainHead): AuditEntry {
  const content: Omit<AuditEntry, 'hash'> = {
    seq: head.seq + 1,
    event_id: event.id,
    time: event.time,
    actor: event.actor,
    subject: event.subject,
    type: event.type,
    source: event.source,
    request_id: event.request_id ?? null,
    project_id: event.project_id ?? null,
    data: event.data,
    prev_hash: head.hash,
  };
  return { ...content, hash: hashOf(content) };
}

export interface ChainVerdict {
  valid: boolean;
  /** The first entry that does not hold (or the first missing one). */
  first_invalid_seq?: number;
  reason?: string;
}

/**
 * Recomputes a chain read in seq order. With the head, a chain cut short at its end (the last
 * entries deleted) is caught too: the head still names the seq and hash the chain ended at.
 */
export function verifyChain(entries: readonly AuditEntry[], head?: ChainHead): ChainVerdict {
  let previous = EMPTY_CHAIN;
  for (const entry of entries) {
    const expected = previous.seq + 1;
    if (entry.seq > expected) return invalid(expected, `entry ${expected} is missing`);
    if (entry.seq !== expected) return invalid(entry.seq, `entry ${entry.seq} is out of order (expected ${expected})`);
    if (entry.prev_hash !== previous.hash) return invalid(entry.seq, 'prev_hash is not the previous entry’s hash');
    if (hashOf(entry) !== entry.hash) return invalid(entry.seq, 'hash does not match the entry’s contents');
    previous = { seq: entry.seq, hash: entry.hash };
  }
  if (head && head.seq > previous.seq) return invalid(previous.seq + 1, `entries after ${previous.seq} are missing`);
  if (head && (head.seq !== previous.seq || head.hash !== previous.hash))
    return invalid(head.seq, 'the chain head does not match the last entry');
  return { valid: true };
}

const invalid = (seq: number, reason: string): ChainVerdict => ({ valid: false, first_invalid_seq: seq, reason });
