import { lambda } from '../../shared/lambda.ts';
import { logger } from '../../shared/logger.ts';

/** What every Scheduler schedule delivers (shared/calendar/scheduler.ts `fireInput`). */
export interface ScheduleFire {
  schedule_id: string;
  /** The scheduled time of this fire, as Scheduler substitutes it (`2026-12-24T22:00:00Z`). */
  fire_time: string;
}

/** Target of the Scheduler schedules. A placeholder until the fire use case lands (issue 11, H2): it records the fire in the log. */
export const handler = lambda(async (event: ScheduleFire): Promise<void> => {
  logger.info('schedule fired', { schedule_id: event.schedule_id, fire_time: event.fire_time });
});
