/**
 * Tells freezes starting and ending. Nothing depends on it (the freeze check computes freezes from
 * their windows at check time, ADR 25): it only turns the calendar into `Freeze Started` and
 * `Freeze Ended` events, for chat and audit. Each tick (every minute) compares the freezes in force
 * now with the ones its cursor has told as started, and commits the events with the new cursor,
 * conditioned on the cursor it read: each stretch of freeze is told once, even when two ticks
 * overlap, and back-to-back or overlapping windows are one stretch (deploys never opened between).
 */
import { projectOf } from '../auth/scope.ts';
import { type FreezeRule, type Interval, intervalAt } from '../domain/freeze.ts';
import { busy } from '../errors.ts';
import { recordChange } from '../events/outbox.ts';
import { commit, getMany, type Write } from '../store/table.ts';
import { calendarKeys } from './keys.ts';

/** A window told as started: enough to tell its end even after its freeze is deleted. */
interface Told extends Interval {
  name: string;
  scope: string;
  allow_rollbacks: boolean;
}

/** A transaction holds 100 writes: the cursor plus at most this many events; the rest go next tick. */
const MAX_EVENTS_PER_TICK = 90;
const actor = { sub: 'slipway:freeze-watch' };

export interface WatchOutcome {
  started: string[];
  ended: string[];
}

export async function watchFreezes(now = new Date()): Promise<WatchOutcome> {
  const [rulesItem, cursor] = await getMany([calendarKeys.freezeRules(), calendarKeys.freezeWatch()]);
  const rules = (rulesItem?.rules ?? []) as FreezeRule[];
  const told = { ...((cursor?.told ?? {}) as Record<string, Told>) };
  const inForce = new Map<string, Told>();
  for (const rule of rules) {
    const interval = intervalAt(rule.window, now);
    if (interval)
      inForce.set(rule.id, { ...interval, name: rule.name, scope: rule.scope, allow_rollbacks: rule.allow_rollbacks });
  }

  const events: Write[] = [];
  const outcome: WatchOutcome = { started: [], ended: [] };
  let moved = false;
  for (const [id, window] of Object.entries(told)) {
    if (events.length >= MAX_EVENTS_PER_TICK) break;
    // Still frozen, whatever interval now holds it (overlapping recurrences chain on): only its end moves.
    const current = inForce.get(id);
    if (current) {
      if (current.ends_at !== window.ends_at) {
        told[id] = { ...window, ends_at: current.ends_at };
        moved = true;
      }
      continue;
    }
    events.push(intervalEvent('Freeze Ended', id, window));
    outcome.ended.push(id);
    delete told[id];
  }
  for (const [id, window] of inForce) {
    if (events.length >= MAX_EVENTS_PER_TICK) break;
    if (told[id]) continue;
    events.push(intervalEvent('Freeze Started', id, window));
    outcome.started.push(id);
    told[id] = window;
  }
  if (events.length === 0 && !moved) return outcome;

  const version = (cursor?.version as number | undefined) ?? 0;
  await commit([
    {
      put: { ...calendarKeys.freezeWatch(), told, version: version + 1, at: now.toISOString() },
      condition: cursor ? '#version = :version' : 'attribute_not_exists(PK)',
      ...(cursor ? { names: { '#version': 'version' }, values: { ':version': version } } : {}),
      onFail: () => busy('freeze-watch-raced', 'Another tick told these freezes.'),
    },
    ...events,
  ]);
  return outcome;
}

const intervalEvent = (type: 'Freeze Started' | 'Freeze Ended', id: string, w: Told): Write =>
  recordChange(actor, {
    type,
    subject: `freeze/${id}`,
    project_id: projectOf(w.scope),
    data: {
      freeze_id: id,
      name: w.name,
      scope: w.scope,
      starts_at: w.starts_at,
      ends_at: w.ends_at,
      allow_rollbacks: w.allow_rollbacks,
    },
  });
