import type { Caller } from '../auth/caller.ts';
import { readAccessOnly } from '../auth/principal.ts';
import { PLATFORM } from '../auth/scope.ts';
import { notFound } from '../errors.ts';
import type { ChangeEventType } from '../events/catalog.ts';
import type { ReceivedChangeEvent } from '../events/envelope.ts';
import { changeEvent, recordEvent } from '../events/outbox.ts';
import { byKind } from '../store/keys.ts';
import { type AlsoCommit, commit, getMany, type Item, queryAll } from '../store/table.ts';
import {
  advanceRecords,
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type CheckpointBody,
  checkpointKey,
  checkpointNumber,
  type Finding,
  objectDigest,
  parseCheckpoint,
  type RecordedHead,
  sameRecords,
  serialize,
  signatureHolds,
  signedBytes,
} from './checkpoint.ts';
import {
  checkpointSigner,
  listCheckpointKeys,
  readCheckpointObject,
  retentionDays,
  signCheckpoint,
  writeCheckpointObject,
} from './checkpoint-store.ts';
import { auditKeys } from './keys.ts';

/** The subject of checkpoint requests in the audit log (a platform subject: platform audit.read reads it). */
export const CHECKPOINTS_SUBJECT = 'audit/checkpoints';
export const CHECKPOINT_REQUESTED = 'Audit Checkpoint Requested' satisfies ChangeEventType;

/** Objects examined, at most, looking for the newest validly signed checkpoint past forged ones. */
const MAX_EXAMINED = 100;
const LIST_PAGE = 10;
const DAY_MS = 86_400_000;
/** BatchGetItem takes at most 100 keys. */
const BATCH = 100;

export interface StoredCheckpoint {
  key: string;
  /** sha256 of the stored bytes, hex: what the next checkpoint's `previous` names. */
  digest: string;
}

/** What the bucket holds, newest first: where the next number comes from and which checkpoint to trust. */
export interface CheckpointHistory {
  /** The newest checkpoint object, valid or not. */
  newest?: StoredCheckpoint;
  /** The newest validly signed checkpoint. */
  valid?: StoredCheckpoint & { checkpoint: Checkpoint };
  /** Newer than `valid`, and not validly signed: forged or altered. */
  invalid: StoredCheckpoint[];
}

export async function checkpointHistory(): Promise<CheckpointHistory> {
  const signer = await checkpointSigner();
  const history: CheckpointHistory = { invalid: [] };
  let examined = 0;
  for (let after: string | undefined; ; ) {
    const keys = await listCheckpointKeys(LIST_PAGE, after);
    for (const key of keys.filter((k) => checkpointNumber(k) !== undefined)) {
      if (++examined > MAX_EXAMINED)
        throw new Error(`No validly signed audit checkpoint among the newest ${MAX_EXAMINED}`);
      const bytes = await readCheckpointObject(key);
      if (!bytes) continue;
      const stored = { key, digest: objectDigest(bytes) };
      history.newest ??= stored;
      const checkpoint = parseCheckpoint(bytes);
      if (checkpoint && signatureHolds(checkpoint, key, signer))
        return { ...history, valid: { ...stored, checkpoint } };
      history.invalid.push(stored);
    }
    if (keys.length < LIST_PAGE) return history;
    after = keys.at(-1);
  }
}

export type CheckpointTrigger = { kind: 'schedule' } | { kind: 'request'; event: ReceivedChangeEvent };

export type CheckpointOutcome =
  | { outcome: 'written'; key: string; number: number; chains: number; findings: number }
  /** A scheduled run with nothing new since the last checkpoint writes none. */
  | { outcome: 'unchanged'; key: string }
  /** Another checkpointer took this number first: its checkpoint stands. */
  | { outcome: 'raced'; key: string };

/**
 * Writes the next checkpoint: every chain head, read with a Query on GSI1, carried forward from
 * the newest validly signed checkpoint (records never move back), signed by KMS, stored under
 * Object Lock. Only the checkpointer runs this (it alone holds kms:Sign and the bucket's writes).
 */
export async function takeCheckpoint(trigger: CheckpointTrigger, now = new Date()): Promise<CheckpointOutcome> {
  // Two checkpointers racing for the same number: one writes, the other reads again. A request must
  // get a checkpoint of its own (the caller waits for it); a scheduled run raced by another is done.
  for (let attempt = 1; ; attempt++) {
    const outcome = await attemptCheckpoint(trigger, attempt === 1 ? now : new Date());
    if (outcome.outcome !== 'raced' || trigger.kind !== 'request' || attempt >= MAX_RACES) return outcome;
  }
}

/** How often a requested checkpoint reads again after losing a race before the bus retries it. */
const MAX_RACES = 5;

async function attemptCheckpoint(trigger: CheckpointTrigger, now: Date): Promise<CheckpointOutcome> {
  const [history, heads] = await Promise.all([checkpointHistory(), chainHeads()]);
  const base = history.valid && { key: history.valid.key, chains: history.valid.checkpoint.chains };
  const { chains, findings } = await advance(base, heads);
  if (
    trigger.kind === 'schedule' &&
    history.valid &&
    history.invalid.length === 0 &&
    findings.length === 0 &&
    sameRecords(chains, history.valid.checkpoint.chains)
  ) {
    return { outcome: 'unchanged', key: history.valid.key };
  }
  const number = (history.newest ? (checkpointNumber(history.newest.key) as number) : 0) + 1;
  const request = trigger.kind === 'request' ? trigger.event : undefined;
  const body: CheckpointBody = {
    format: CHECKPOINT_FORMAT,
    number,
    time: now.toISOString(),
    trigger: trigger.kind,
    request: request
      ? {
          event_id: request.id,
          actor: request.actor,
          reason: (request.data as { reason?: string } | undefined)?.reason ?? null,
        }
      : null,
    previous: history.newest ?? null,
    skipped: history.invalid,
    chains,
    findings,
  };
  const checkpoint: Checkpoint = { ...body, signature: await signCheckpoint(signedBytes(body)) };
  const key = checkpointKey(number);
  const retainUntil = new Date(now.getTime() + retentionDays() * DAY_MS);
  if (!(await writeCheckpointObject(key, serialize(checkpoint), retainUntil))) return { outcome: 'raced', key };
  return { outcome: 'written', key, number, chains: chains.length, findings: findings.length };
}

/**
 * The records moved forward. A chain that grew must still hold its recorded entry (one BatchGet
 * per 100 such chains); a chain that seems to have gone back is read again from the table itself
 * before it is called tampered (GSI1 is only eventually consistent).
 */
async function advance(base: { key: string; chains: RecordedHead[] } | undefined, heads: RecordedHead[]) {
  const seqs = new Map(heads.map((head) => [head.subject, head.seq]));
  const grown = (base?.chains ?? []).filter((record) => (seqs.get(record.subject) ?? 0) > record.seq);
  const held = await recordedEntriesHeld(grown);
  const first = advanceRecords(base, heads, (record) => held.has(record.subject));
  if (first.findings.length === 0) return first;
  const suspects = new Set(first.findings.map((f) => f.subject));
  const fresh = await getMany([...suspects].map((subject) => auditKeys.head(subject)));
  const rechecked = [
    ...heads.filter((h) => !suspects.has(h.subject)),
    ...fresh.filter((item): item is Item => item !== undefined).map(recordedHead),
  ];
  return advanceRecords(base, rechecked, (record) => held.has(record.subject));
}

/** Subjects whose entry at the recorded seq still has the recorded hash. */
async function recordedEntriesHeld(records: RecordedHead[]): Promise<Set<string>> {
  const held = new Set<string>();
  for (let i = 0; i < records.length; i += BATCH) {
    const batch = records.slice(i, i + BATCH);
    const entries = await getMany(batch.map((r) => auditKeys.entry(r.subject, r.seq)));
    batch.forEach((record, n) => {
      if (entries[n]?.hash === record.hash) held.add(record.subject);
    });
  }
  return held;
}

/** Every chain's head: one Query page per 1,000 chains on GSI1. */
async function chainHeads(): Promise<RecordedHead[]> {
  return (await queryAll({ index: 'GSI1', partition: byKind.auditChain })).map(recordedHead);
}

const recordedHead = (item: Item): RecordedHead => ({
  subject: item.subject as string,
  seq: item.seq as number,
  hash: item.hash as string,
  project_id: (item.project_id as string | null | undefined) ?? null,
});

/** What `POST /audit/checkpoints` answers: the request is on its way to the checkpointer. */
export interface CheckpointRequest {
  event_id: string;
  requested_at: string;
  status: 'requested';
}

/**
 * A platform admin asks for a checkpoint now. The API may not sign or write checkpoints, so the
 * request is a change event (outbox → bus → the checkpointer), and the audit log records who asked.
 */
export async function requestCheckpoint(
  caller: Caller,
  reason: string | undefined,
  alsoCommit: AlsoCommit<CheckpointRequest>,
): Promise<CheckpointRequest> {
  const { access } = await readAccessOnly(caller);
  access.requireOn('audit.checkpoint', PLATFORM);
  const event = changeEvent(caller, {
    type: CHECKPOINT_REQUESTED,
    subject: CHECKPOINTS_SUBJECT,
    data: reason === undefined ? {} : { reason },
  });
  const request: CheckpointRequest = { event_id: event.id, requested_at: event.time, status: 'requested' };
  await commit([recordEvent(event), ...alsoCommit(request)]);
  return request;
}

/** The newest checkpoint, for platform auditors: is it signed, and when was it taken? */
export interface CheckpointView extends Omit<Checkpoint, 'chains' | 'signature' | 'format'> {
  key: string;
  /** How many chains it records. */
  chain_count: number;
  verified: boolean;
  /** Newer checkpoint objects that are not validly signed. */
  newer_invalid: Finding[];
}

export async function latestCheckpoint(caller: Caller): Promise<CheckpointView> {
  const { access } = await readAccessOnly(caller);
  access.requireOn('audit.read', PLATFORM);
  const history = await checkpointHistory();
  if (!history.valid) {
    throw notFound(history.newest ? 'Validly signed checkpoint' : 'Checkpoint');
  }
  const { chains, signature: _signature, format: _format, ...rest } = history.valid.checkpoint;
  return {
    key: history.valid.key,
    ...rest,
    chain_count: chains.length,
    verified: true,
    newer_invalid: history.invalid.map(forged),
  };
}

export const forged = (stored: StoredCheckpoint): Finding => ({
  type: 'checkpoint-invalid',
  checkpoint: stored.key,
  message: `checkpoint ${stored.key} is not validly signed by the audit key: it was forged or altered`,
});

/** The valid checkpoint's link to the one before it: gone or changed means a checkpoint was removed or replaced. */
export async function linkFindings(valid: CheckpointHistory['valid']): Promise<Finding[]> {
  const previous = valid?.checkpoint.previous;
  if (!valid || !previous) return [];
  const bytes = await readCheckpointObject(previous.key);
  if (bytes && objectDigest(bytes) === previous.digest) return [];
  return [
    {
      type: 'checkpoint-chain-broken',
      checkpoint: valid.key,
      message: `checkpoint ${valid.key} follows ${previous.key}, which is ${bytes ? 'no longer what it signed' : 'gone'}`,
    },
  ];
}
