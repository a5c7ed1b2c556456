/**
 * A schedule's trigger in EventBridge Scheduler, named after the schedule: `at()` or `cron()` in its
 * zone, its flexible window, paused while the schedule is disabled or done (ADR 24, 26).
 */
import { schedulerAt, schedulerCron } from '../domain/calendar.ts';
import type { ScheduleRecord } from '../domain/schedule.ts';
import { deleteTrigger, putTrigger, type Trigger } from './scheduler.ts';

export function triggerOf(s: ScheduleRecord): Trigger {
  const oneTime = s.at !== undefined;
  return {
    id: s.id,
    expression: oneTime ? schedulerAt(new Date(s.at as string)) : schedulerCron(s.cron as string),
    timezone: oneTime ? 'UTC' : (s.timezone as string),
    ...(s.flexible_window_minutes ? { flexibleWindowMinutes: s.flexible_window_minutes } : {}),
    enabled: s.enabled && s.state === 'active',
    oneTime,
  };
}

/** Creates or updates the trigger to match the schedule (one that fired and went is made again). */
export const putScheduleTrigger = (s: ScheduleRecord, mode: 'create' | 'update'): Promise<void> =>
  putTrigger(triggerOf(s), mode);

export const dropTrigger = deleteTrigger;
