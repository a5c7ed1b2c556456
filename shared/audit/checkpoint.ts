import { createHash, type KeyObject, verify } from 'node:crypto';
import { canonicalJson } from './canonical.ts';
import type { AuditEntry, ChainHead } from './chain.ts';

/**
 * A checkpoint is a signed statement "at this time, these chains ended here": every chain's head
 * (subject, seq, hash), numbered, linked to the checkpoint before it by key and digest, signed
 * with a KMS key only the checkpointer may use, and kept in S3 under Object Lock. Someone who can
 * write the table can cut or rewrite a chain and its head consistently; they cannot change what
 * a checkpoint recorded. Pure functions only; checkpoints.ts reads, writes and signs them.
 *
 * Records only move forward: a chain found shorter than, or different from, what the previous
 * checkpoint recorded keeps its recorded head (and the finding is recorded too), so tampering
 * that happened between two checkpoints is still reported against every later one.
 */

export const CHECKPOINT_FORMAT = 'slipway.audit-checkpoint/1';
export const CHECKPOINT_PREFIX = 'checkpoints/';
export const SIGNING_ALGORITHM = 'ECDSA_SHA_256';

/** Keys count down (checkpoint 1 is `checkpoints/999999999998.json`): S3 lists the newest first. */
const LAST_NUMBER = 999_999_999_999;
const KEY_PATTERN = /^checkpoints\/(\d{12})\.json$/;

export const checkpointKey = (n: number): string =>
  `${CHECKPOINT_PREFIX}${String(LAST_NUMBER - n).padStart(12, '0')}.json`;

/** The number a checkpoint key stands for; undefined for any other object under the prefix. */
export function checkpointNumber(key: string): number | undefined {
  const match = KEY_PATTERN.exec(key);
  return match ? LAST_NUMBER - Number(match[1]) : undefined;
}

/** What a checkpoint recorded for one chain. */
export interface RecordedHead extends ChainHead {
  subject: string;
  /** Who may read the chain: kept so a chain deleted whole is still reported to its readers. */
  project_id: string | null;
}

/** Where the table and a checkpoint disagree, or a checkpoint cannot be trusted. */
export interface Finding {
  type: 'chain-broken' | 'truncated' | 'rewritten' | 'head-missing' | 'checkpoint-invalid' | 'checkpoint-chain-broken';
  /** The chain's entry the finding is about. */
  seq?: number;
  /** The checkpoint it was measured against (or that is at fault). */
  checkpoint?: string;
  message: string;
}

/** A finding the checkpointer recorded, signed: the chain it is about. */
export type RecordedFinding = Finding & { subject: string };

export interface CheckpointBody {
  format: typeof CHECKPOINT_FORMAT;
  number: number;
  time: string;
  trigger: 'schedule' | 'request';
  /** The "Audit Checkpoint Requested" event a requested checkpoint answers. */
  request: { event_id: string; actor: string; reason: string | null } | null;
  /** The checkpoint before this one: deleting or replacing it breaks this link. */
  previous: { key: string; digest: string } | null;
  /** Checkpoints newer than the one this one carried its records from, not validly signed. */
  skipped: { key: string; digest: string }[];
  /** Every chain, by subject. */
  chains: RecordedHead[];
  findings: RecordedFinding[];
}

export interface Checkpoint extends CheckpointBody {
  signature: { key_id: string; algorithm: typeof SIGNING_ALGORITHM; value: string };
}

/** The bytes that are signed (as their sha256 digest) and that verification hashes again. */
export const signedBytes = (body: CheckpointBody): Buffer => Buffer.from(canonicalJson(body));

export const sha256 = (bytes: Buffer): Buffer => createHash('sha256').update(bytes).digest();

/** How a later checkpoint names this one's stored bytes. */
export const objectDigest = (bytes: Buffer): string => sha256(bytes).toString('hex');

export const serialize = (checkpoint: Checkpoint): Buffer => Buffer.from(`${canonicalJson(checkpoint)}\n`);

/** A stored object as a checkpoint, or undefined when it is not even shaped like one. */
export function parseCheckpoint(bytes: Buffer): Checkpoint | undefined {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as Checkpoint;
    const shaped =
      value.format === CHECKPOINT_FORMAT &&
      Number.isInteger(value.number) &&
      Array.isArray(value.chains) &&
      Array.isArray(value.findings) &&
      Array.isArray(value.skipped) &&
      typeof value.signature?.value === 'string';
    return shaped ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Signed by the audit key (`keyId`, an ARN), over exactly this content, and stored under its own number. */
export function signatureHolds(
  checkpoint: Checkpoint,
  key: string,
  signer: { keyId: string; publicKey: KeyObject },
): boolean {
  const { signature, ...body } = checkpoint;
  if (signature.key_id !== signer.keyId || signature.algorithm !== SIGNING_ALGORITHM) return false;
  if (checkpointNumber(key) !== checkpoint.number) return false;
  try {
    return verify('sha256', signedBytes(body), signer.publicKey, Buffer.from(signature.value, 'base64'));
  } catch {
    return false;
  }
}

/**
 * The records of a new checkpoint: the previous records moved forward to the current heads, where
 * that is an honest move. `extends` answers whether the table still holds a recorded entry as it
 * was (its stored hash at the recorded seq), for chains that grew since.
 */
export function advanceRecords(
  base: { key: string; chains: readonly RecordedHead[] } | undefined,
  current: readonly RecordedHead[],
  extendsRecord: (record: RecordedHead) => boolean,
): { chains: RecordedHead[]; findings: RecordedFinding[] } {
  const now = new Map(current.map((head) => [head.subject, head]));
  const before = new Map((base?.chains ?? []).map((head) => [head.subject, head]));
  const key = base?.key ?? '';
  const subjects = [...new Set([...before.keys(), ...now.keys()])].sort();
  const chains: RecordedHead[] = [];
  const findings: RecordedFinding[] = [];
  for (const subject of subjects) {
    const was = before.get(subject);
    const is = now.get(subject);
    if (!was || !is) {
      chains.push((is ?? was) as RecordedHead);
      if (was) findings.push({ subject, ...headMissing(was, key) });
      continue;
    }
    const finding =
      is.seq < was.seq
        ? truncated(is.seq, was, key)
        : (is.seq === was.seq && is.hash !== was.hash) || (is.seq > was.seq && !extendsRecord(was))
          ? rewritten(was, key)
          : undefined;
    chains.push(finding ? was : { ...is, project_id: was.project_id });
    if (finding) findings.push({ subject, ...finding });
  }
  return { chains, findings };
}

/** The same chains, recorded the same way: nothing to checkpoint. */
export const sameRecords = (a: readonly RecordedHead[], b: readonly RecordedHead[]): boolean =>
  canonicalJson(a) === canonicalJson(b);

/**
 * Where a subject's chain, as stored now, disagrees with what a checkpoint recorded for it.
 * Entries appended since are the hash chain's to check.
 */
export function findingsAgainst(record: RecordedHead, entries: readonly AuditEntry[], key: string): Finding[] {
  const last = entries.at(-1)?.seq ?? 0;
  const atRecord = entries.find((entry) => entry.seq === record.seq);
  if (last < record.seq) return [truncated(last, record, key)];
  return atRecord && atRecord.hash !== record.hash ? [rewritten(record, key)] : [];
}

const truncated = (endsAt: number, record: RecordedHead, key: string): Finding => ({
  type: 'truncated',
  seq: endsAt + 1,
  checkpoint: key,
  message: `chain ends at seq ${endsAt} but checkpoint ${key} recorded seq ${record.seq}`,
});

const rewritten = (record: RecordedHead, key: string): Finding => ({
  type: 'rewritten',
  seq: record.seq,
  checkpoint: key,
  message: `entry ${record.seq} hash differs from the signed checkpoint ${key}: the chain was rewritten at or before seq ${record.seq}`,
});

const headMissing = (record: RecordedHead, key: string): Finding => ({
  type: 'head-missing',
  seq: 1,
  checkpoint: key,
  message: `the chain's head is gone but checkpoint ${key} recorded seq ${record.seq}`,
});
