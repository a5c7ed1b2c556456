import { busy, conflict, isError } from '../errors.ts';
import type { ReceivedChangeEvent } from '../events/envelope.ts';
import { commit, getMany, type Item, type Write } from '../store/table.ts';
import { type AuditEntry, EMPTY_CHAIN, nextEntry } from './chain.ts';
import { auditByActor, auditKeys, auditOfProject, auditOrder } from './keys.ts';

/** Appends racing on one subject: one wins per round; after this many the bus retries the event later. */
const MAX_ATTEMPTS = 5;

export type AppendOutcome = { outcome: 'appended'; seq: number } | { outcome: 'duplicate' };

/**
 * Appends one change event to its subject's chain, exactly once: the entry, the moved head and a
 * claim on the event id are one transaction, conditioned on the head still being where it was
 * read. A redelivered event finds its claim and is answered as done.
 */
export async function appendToAuditLog(event: ReceivedChangeEvent): Promise<AppendOutcome> {
  for (let attempt = 1; ; attempt++) {
    const [head, claim] = await getMany([auditKeys.head(event.subject), auditKeys.claim(event.id)]);
    if (claim) return { outcome: 'duplicate' };
    const entry = nextEntry(event, head ? { seq: head.seq as number, hash: head.hash as string } : EMPTY_CHAIN);
    try {
      await commit(appendWrites(entry, (head?.project_id as string | null | undefined) ?? entry.project_id));
      return { outcome: 'appended', seq: entry.seq };
    } catch (error) {
      if (isError(error, 'already-audited')) return { outcome: 'duplicate' };
      if (!isError(error, 'concurrent-modification')) throw error;
      if (attempt >= MAX_ATTEMPTS) {
        throw new Error(`Audit chain of ${event.subject} kept moving: gave up after ${attempt} attempts`, {
          cause: error,
        });
      }
      // Spread the losers out, so the next round has one winner again rather than a pile-up.
      await new Promise((done) => setTimeout(done, Math.random() * 20 * 2 ** attempt));
    }
  }
}

/** The claim first: when both it and the head fail, the event was already audited (not a race). */
function appendWrites(entry: AuditEntry, projectId: string | null): Write[] {
  const claim: Item = { ...auditKeys.claim(entry.event_id), subject: entry.subject, seq: entry.seq };
  const head: Item = {
    ...auditKeys.head(entry.subject),
    ...auditKeys.headIndex(entry.subject),
    subject: entry.subject,
    seq: entry.seq,
    hash: entry.hash,
    project_id: projectId,
  };
  const item: Item = {
    ...auditKeys.entry(entry.subject, entry.seq),
    // The chain's project is fixed by its first entry, so its readers never change.
    ...(projectId ? { GSI1PK: auditOfProject(projectId), GSI1SK: auditOrder(entry.time, entry.event_id) } : {}),
    GSI2PK: auditByActor(entry.actor),
    GSI2SK: auditOrder(entry.time, entry.event_id),
    ...entry,
  };
  const moved = () => busy('concurrent-modification', `The audit chain of ${entry.subject} moved; read it again.`);
  return [
    {
      put: claim,
      condition: 'attribute_not_exists(PK)',
      onFail: () => conflict('already-audited', `Event ${entry.event_id} is in the audit log.`),
    },
    {
      put: head,
      ...(entry.seq === 1
        ? { condition: 'attribute_not_exists(PK)' }
        : { condition: '#seq = :seen', names: { '#seq': 'seq' }, values: { ':seen': entry.seq - 1 } }),
      onFail: moved,
    },
    // Append-only: an entry is never overwritten, whatever the head says.
    {
      put: item,
      condition: 'attribute_not_exists(PK)',
      onFail: () => conflict('audit-entry-exists', `Entry ${entry.seq} of ${entry.subject} exists already.`),
    },
  ];
}
