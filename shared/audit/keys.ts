import { byKind } from '../store/keys.ts';
import type { Key } from '../store/table.ts';

/**
 * Where the audit log lives in the one table. A subject's chain is one partition: its head
 * (`HEAD`: seq and hash of the last entry) and its entries (`ENTRY#<seq>`, zero-padded so they
 * sort). Entries are also listed by project (GSI1) and by actor (GSI2), newest first by time;
 * heads are listed by kind (GSI1, by subject), so a checkpoint reads every head without a scan.
 * A claim per event id makes a redelivered event a no-op.
 */
export const auditKeys = {
  head: (subject: string): Key => ({ PK: chainOf(subject), SK: 'HEAD' }),
  /** GSI1 attributes of a head. */
  headIndex: (subject: string) => ({ GSI1PK: byKind.auditChain, GSI1SK: subject }),
  entry: (subject: string, seq: number): Key => ({ PK: chainOf(subject), SK: `${ENTRY_PREFIX}${pad(seq)}` }),
  claim: (eventId: string): Key => ({ PK: `AUDIT_EVENT#${eventId}`, SK: 'CLAIM' }),
};

export const ENTRY_PREFIX = 'ENTRY#';

export const chainOf = (subject: string): string => `AUDIT#${subject}`;

/** GSI1 partition: every entry of one project's subjects. */
export const auditOfProject = (projectId: string): string => `AUDIT_IN#${projectId}`;

/** GSI2 partition: every entry one actor caused. */
export const auditByActor = (actor: string): string => `AUDIT_BY#${actor}`;

/** Sort key on both indexes: by change time, then event id (a ULID) for changes in the same millisecond. */
export const auditOrder = (time: string, eventId: string): string => `${time}#${eventId}`;

const pad = (seq: number): string => String(seq).padStart(10, '0');
