/**
 * Schedules: a deploy, a promotion or a rollback of one app's environment, fired once at an
 * instant or on a cron recurrence in a time zone, acting as its owner (ADR 26). What a schedule
 * is and when it fires; the API and the fire are shared/calendar/schedules.ts and fires.ts.
 */
import * as z from 'zod/mini';
import {
  type CronRecurrence,
  cronExpression,
  fireMinute,
  inOffsetOf,
  instant,
  localTime,
  nextFires,
  timeZone,
} from './calendar.ts';
import { imageReference, rolloutStrategy } from './deployment.ts';
import { description, displayName, dnsLabel, resourceId } from './fields.ts';

export const scheduleAction = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('deploy'),
    image: imageReference,
    replicas: z.optional(z.int().check(z.minimum(0), z.maximum(100))),
    strategy: z.optional(rolloutStrategy),
  }),
  /** The release running in `from` to the schedule's environment (H4's promotion). */
  z.strictObject({ type: z.literal('promote'), from: dnsLabel }),
  /** Back to `target_revision`, by default the last good release before the current one. */
  z.strictObject({ type: z.literal('rollback'), target_revision: z.optional(z.int().check(z.minimum(1))) }),
]);
export type ScheduleAction = z.infer<typeof scheduleAction>;

/** What a schedule's owner may change (app and environment are fixed: they decide who may manage it). */
export const scheduleFields = {
  name: displayName,
  description: z.optional(description),
  action: scheduleAction,
  /** Once, at this instant (RFC 3339 with an offset). */
  at: z.optional(instant),
  /** Or on this standard 5-field cron expression, in `timezone`. */
  cron: z.optional(cronExpression),
  timezone: z.optional(timeZone),
  /** Scheduler may fire up to this many minutes after the time; a fire later than that is recorded as missed. */
  flexible_window_minutes: z.optional(z.int().check(z.minimum(1), z.maximum(1440))),
  /** `false` pauses it: nothing fires until it is enabled again. */
  enabled: z.optional(z.boolean()),
};

type Timing = { at?: string | undefined; cron?: string | undefined; timezone?: string | undefined };

/** Exactly one way to fire: `at`, or `cron` with its `timezone`. */
const oneTiming = [
  z.refine<Timing>((s) => (s.at === undefined) !== (s.cron === undefined), {
    message: 'give either at (one fire) or cron with timezone (a recurrence), not both or neither',
    path: ['at'],
  }),
  z.refine<Timing>((s) => s.cron === undefined || s.timezone !== undefined, {
    message: 'a cron schedule needs its IANA timezone (e.g. Europe/Berlin)',
    path: ['timezone'],
  }),
  z.refine<Timing>((s) => s.at === undefined || s.timezone === undefined, {
    message: 'timezone goes with cron; an at instant carries its own offset',
    path: ['timezone'],
  }),
];

/** `POST /schedules` */
export const newSchedule = z
  .strictObject({ app_id: resourceId('app'), env: dnsLabel, ...scheduleFields })
  .check(...oneTiming);

/** A schedule after a merge patch: the same rules, without what cannot change. */
export const scheduleChanges = z.strictObject(scheduleFields).check(...oneTiming);

export const SCHEDULE_CHANGEABLE = Object.keys(scheduleFields);

export type NewSchedule = z.infer<typeof newSchedule>;
export type ScheduleChanges = z.infer<typeof scheduleChanges>;

/** A fire's instant as its key: Scheduler's `<aws.scheduler.scheduled-time>` in one spelling. */
export const fireKeyTime = (fireTime: string): string | undefined => {
  const ms = Date.parse(fireTime);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
};

/** How one fire ended: the deployment it made, or why it made none. */
export interface FireView {
  fire_time: string;
  fired_at: string;
  outcome: 'deployed' | 'failed' | 'missed';
  deployment_id?: string;
  reason?: string;
}

/** A schedule as stored (and as its change events carry it). */
export interface ScheduleRecord {
  id: string;
  app_id: string;
  /** Application names never change: a fire's messages name it without reading the app. */
  app_name: string;
  project_id: string;
  env: string;
  name: string;
  description?: string;
  action: ScheduleAction;
  at?: string;
  cron?: string;
  timezone?: string;
  flexible_window_minutes?: number;
  enabled: boolean;
  /** Whose rights a fire uses, checked again at each fire: whoever last created or changed it. */
  owner: string;
  /** `completed` once a one-time schedule has fired (or was missed). */
  state: 'active' | 'completed';
  last_fire?: FireView;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface UpcomingFire {
  /** The instant (UTC). */
  at: string;
  /** The same instant on the schedule's wall clock, with its offset. */
  local: string;
}

export type ScheduleView = ScheduleRecord & { next_fires: UpcomingFire[] };

/**
 * The next five fires after `now` (the one `at`, if still ahead), or none when paused or done. A
 * cron schedule's local times follow Scheduler's DST rules (shared/domain/calendar.ts); an `at`
 * fires at its whole minute, shown in the offset its client wrote it with.
 */
export function upcomingFires(s: ScheduleRecord, now: Date, count = 5): UpcomingFire[] {
  if (!s.enabled || s.state === 'completed') return [];
  if (s.at !== undefined) {
    const fire = fireMinute(new Date(s.at));
    return fire > now ? [{ at: fire.toISOString(), local: inOffsetOf(s.at, fire) }] : [];
  }
  const recurrence = { cron: s.cron, timezone: s.timezone } as CronRecurrence;
  return nextFires(recurrence, now, count).map((fire) => ({
    at: fire.toISOString(),
    local: localTime(fire, recurrence.timezone),
  }));
}

/** Scheduler's grace beyond the flexible window before a fire counts as missed (its 60 s precision). */
export const LATE_GRACE_MS = 60_000;

/** A fire that arrives after its window (a restart, a long retry) is recorded, not acted on. */
export const isLate = (s: Pick<ScheduleRecord, 'flexible_window_minutes'>, fireTime: string, now: Date): boolean =>
  now.getTime() - Date.parse(fireTime) > (s.flexible_window_minutes ?? 0) * 60_000 + LATE_GRACE_MS;
