/**
 * A schedule's trigger in EventBridge Scheduler, named after the schedule: `at()` or `cron()` in its
 * zone, its flexible window, paused while the schedule is disabled or done (ADR 24, 26).
 */
import { schedulerAt, schedulerCron } from '../domain/calendar.ts';
import type { ScheduleRecord } from '../domain/schedule.ts';

export interface Trigger {
  id: string;
  expression: string;
  timezone: string;
  flexibleWindowMinutes?: number;
  enabled: boolean;
  oneTime: boolean;
}

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

export async function putScheduleTrigger(_s: ScheduleRecord, _mode: 'create' | 'update'): Promise<void> {}

export async function dropTrigger(_id: string): Promise<void> {}
