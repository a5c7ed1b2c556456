/**
 * Freeze windows: when a scope (the platform, a project, an app, one environment) takes no
 * deploys. A window is one-off (two instants) or recurring (a cron start in a time zone plus a
 * duration). Whether a deployment is frozen is computed from the windows at check time, so no
 * timer has to open or close a freeze (ADR 25).
 */
import * as z from 'zod/mini';
import { covers, type ScopePath } from '../auth/scope.ts';
import { Conflict } from '../errors.ts';
import { type CronRecurrence, cronExpression, instant, lastFireAtOrBefore, nextFires, timeZone } from './calendar.ts';
import { description, displayName, dnsLabel, resourceId } from './fields.ts';

/** A freeze may last at most 30 days: longer is a decommission, not a freeze. */
export const MAX_FREEZE_MINUTES = 30 * 24 * 60;

export const oneOffWindow = z.strictObject({ kind: z.literal('one_off'), starts_at: instant, ends_at: instant }).check(
  z.refine((w) => Date.parse(w.ends_at) > Date.parse(w.starts_at), {
    message: 'ends_at must be after starts_at',
    path: ['ends_at'],
  }),
  z.refine((w) => Date.parse(w.ends_at) - Date.parse(w.starts_at) <= MAX_FREEZE_MINUTES * 60_000, {
    message: 'a freeze lasts at most 30 days',
    path: ['ends_at'],
  }),
);

export const recurringWindow = z.strictObject({
  kind: z.literal('recurring'),
  /** When each window starts, e.g. `0 18 * * 5` (Fridays 18:00). */
  cron: cronExpression,
  timezone: timeZone,
  duration_minutes: z.int().check(z.minimum(1), z.maximum(MAX_FREEZE_MINUTES)),
});

export const freezeWindow = z.discriminatedUnion('kind', [oneOffWindow, recurringWindow]);
export type FreezeWindow = z.infer<typeof freezeWindow>;

export const freezeFields = {
  name: displayName,
  description: z.optional(description),
  window: freezeWindow,
  /** Rolling back is the safe move in a freeze: allowed unless a freeze says otherwise. */
  allow_rollbacks: z.optional(z.boolean()),
};

/** What the freeze check needs of a freeze: kept together in one item, read with the deploy's own reads. */
export interface FreezeRule {
  id: string;
  name: string;
  /** A scope path (shared/auth/scope.ts): `platform`, `project/p1`, `project/p1/app/a1`, `…/env/prod`. */
  scope: ScopePath;
  window: FreezeWindow;
  allow_rollbacks: boolean;
}

export interface Interval {
  starts_at: string;
  ends_at: string;
}

/** A freeze in force for a target: which one, and when it ends. */
export interface ActiveFreeze extends Interval {
  freeze_id: string;
  name: string;
  scope: ScopePath;
}

const minutes = (n: number) => n * 60_000;

/** The window of `window` that contains `at`, if any; overlapping recurrences merge into one. */
export function intervalAt(window: FreezeWindow, at: Date): Interval | undefined {
  if (window.kind === 'one_off') {
    const t = at.getTime();
    return Date.parse(window.starts_at) <= t && t < Date.parse(window.ends_at)
      ? { starts_at: window.starts_at, ends_at: window.ends_at }
      : undefined;
  }
  const recurrence: CronRecurrence = window;
  const duration = minutes(window.duration_minutes);
  const start = lastFireAtOrBefore(recurrence, at, duration);
  if (!start || start.getTime() + duration <= at.getTime()) return undefined;
  let end = start.getTime() + duration;
  // A start inside the window extends it (an every-minute cron with a 10-minute duration is one window).
  for (let i = 0; i < 100; i++) {
    const [next] = nextFires(recurrence, new Date(end - duration), 1);
    if (!next || next.getTime() >= end) break;
    end = next.getTime() + duration;
  }
  return { starts_at: start.toISOString(), ends_at: new Date(end).toISOString() };
}

/** The next window starting after `after`. */
export function nextInterval(window: FreezeWindow, after: Date): Interval | undefined {
  if (window.kind === 'one_off') {
    return Date.parse(window.starts_at) > after.getTime()
      ? { starts_at: window.starts_at, ends_at: window.ends_at }
      : undefined;
  }
  const [start] = nextFires(window, after, 1);
  if (!start) return undefined;
  return intervalAt(window, start);
}

/** True once a one-off window has ended: it can leave the freeze calendar. */
export const isOver = (window: FreezeWindow, now: Date) =>
  window.kind === 'one_off' && Date.parse(window.ends_at) <= now.getTime();

/**
 * The freeze in force on `target` (an env scope path) for a deploy or a rollback at `at`: the
 * one that ends last when several overlap, so the answer says when deploying is possible again.
 */
export function activeFreeze(
  rules: readonly FreezeRule[],
  target: ScopePath,
  kind: 'deploy' | 'rollback',
  at: Date,
): ActiveFreeze | undefined {
  let found: ActiveFreeze | undefined;
  for (const rule of rules) {
    if (!covers(rule.scope, target) || (kind === 'rollback' && rule.allow_rollbacks)) continue;
    const interval = intervalAt(rule.window, at);
    if (interval && (!found || interval.ends_at > found.ends_at)) {
      found = { freeze_id: rule.id, name: rule.name, scope: rule.scope, ...interval };
    }
  }
  return found;
}

/** The next freeze to start on `target` after `after` (whatever it allows). */
export function nextFreeze(rules: readonly FreezeRule[], target: ScopePath, after: Date): ActiveFreeze | undefined {
  let found: ActiveFreeze | undefined;
  for (const rule of rules) {
    if (!covers(rule.scope, target)) continue;
    const interval = nextInterval(rule.window, after);
    if (interval && (!found || interval.starts_at < found.starts_at)) {
      found = { freeze_id: rule.id, name: rule.name, scope: rule.scope, ...interval };
    }
  }
  return found;
}

/** Where a freeze applies: the platform, or a project, an app, or one environment of an app. */
export const freezeScope = z.union([
  z.literal('platform'),
  z.strictObject({
    project_id: z.optional(resourceId('prj')),
    app_id: z.optional(resourceId('app')),
    env: z.optional(dnsLabel),
  }),
]);
export type FreezeScope = z.infer<typeof freezeScope>;

/** `POST /freezes` */
export const newFreeze = z.strictObject({ scope: freezeScope, ...freezeFields });
/** What a PATCH may change (a merge patch of these; the scope stays). */
export const freezeChanges = z.strictObject(freezeFields);
export type NewFreeze = z.infer<typeof newFreeze>;
export type FreezeChanges = z.infer<typeof freezeChanges>;

/** A freeze as the API shows it: its window, and the interval in force now and the next one (computed at read). */
export interface FreezeView {
  id: string;
  scope: ScopePath;
  name: string;
  description?: string;
  window: FreezeWindow;
  allow_rollbacks: boolean;
  active: Interval | null;
  next: Interval | null;
  version: number;
  created_at: string;
  updated_at: string;
  created_by: string;
}

/** 409 `frozen`: the deploy meets a freeze in force; it names the freeze and when deploying opens again. */
export const frozen = (freeze: ActiveFreeze) =>
  new Conflict(
    'frozen',
    `${freeze.name} (${freeze.scope}) freezes this environment until ${freeze.ends_at}: deploy after that, or override it with a reason if you hold freeze.override.`,
    { freeze: { id: freeze.freeze_id, name: freeze.name, ends_at: freeze.ends_at } },
  );
