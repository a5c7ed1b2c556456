import { ulid } from 'ulid';
import { conflict } from '../errors.ts';
import type { Item, Write } from '../store/table.ts';
import { CHANGE_EVENTS, type ChangeEventData, type ChangeEventType } from './catalog.ts';
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

/** What a change records: its type (which fixes its source), the resource, and that type's data. */
export interface Change<Type extends ChangeEventType = ChangeEventType> {
  type: Type;
  subject: string;
  project_id?: string | undefined;
  data: ChangeEventData<Type>;
}

export function changeEvent<Type extends ChangeEventType>(actor: Actor, change: Change<Type>): ChangeEvent<Type> {
  return {
    id: ulid(),
    source: CHANGE_EVENTS[change.type].source,
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
export const recordChange = <Type extends ChangeEventType>(actor: Actor, change: Change<Type>): Write =>
  recordEvent(changeEvent(actor, change));

/** The same, for an event built beforehand (its id is part of the answer). */
export function recordEvent<Type extends ChangeEventType>(event: ChangeEvent<Type>): Write {
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
