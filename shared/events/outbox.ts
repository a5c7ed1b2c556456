import { ulid } from 'ulid';
import { conflict } from '../http/problem.ts';
import type { Item, Write } from '../store/table.ts';
import type { ChangeEvent } from './envelope.ts';

/**
 * The transactional outbox: a change event is one more write in the change's own commit, so an
 * event exists exactly when its change does (no "wrote the record, crashed before PutEvents").
 * The table's stream carries new outbox items to the event publisher (functions/event-publisher),
 * which puts them on the bus; the item expires a day later.
 */
export const OUTBOX_PREFIX = 'OUTBOX#';
const OUTBOX_TTL_SECONDS = 24 * 60 * 60;

/** Who made a change: the API caller (with the request) or the platform acting for a workflow. */
export interface Actor {
  sub: string;
  requestId?: string | undefined;
}

export type Change<T = Record<string, unknown>> = Pick<ChangeEvent<T>, 'source' | 'type' | 'subject' | 'data'> & {
  project_id?: string | undefined;
};

export function changeEvent<T>(actor: Actor, change: Change<T>): ChangeEvent<T> {
  return {
    id: ulid(),
    source: change.source,
    type: change.type,
    time: new Date().toISOString(),
    actor: actor.sub,
    subject: change.subject,
    ...(actor.requestId ? { request_id: actor.requestId } : {}),
    ...(change.project_id ? { project_id: change.project_id } : {}),
    data: change.data,
  };
}

/** The write that records `change` in the outbox; commit it with the change itself. */
export const recordChange = <T>(actor: Actor, change: Change<T>): Write => recordEvent(changeEvent(actor, change));

/** The same, for an event built beforehand (its id is part of the answer). */
export function recordEvent<T>(event: ChangeEvent<T>): Write {
  const item: Item = {
    PK: `${OUTBOX_PREFIX}${event.id}`,
    SK: 'EVENT',
    event,
    expiresAt: Math.floor(Date.now() / 1000) + OUTBOX_TTL_SECONDS,
  };
  return {
    put: item,
    condition: 'attribute_not_exists(PK)',
    onFail: () => conflict('event-id-taken', 'An event with this id was already recorded.'),
  };
}
