import { type FireRequest, fireSchedule } from '../../shared/calendar/fires.ts';
import { lambda } from '../../shared/lambda.ts';

/**
 * EventBridge Scheduler's target: fires one schedule for the time it was due. Throwing hands the
 * fire back to Scheduler's retry policy (then its dead-letter queue); a retry deploys nothing twice.
 */
export const handler = lambda(async (event: Partial<FireRequest>) => {
  if (typeof event?.schedule_id !== 'string' || typeof event.fire_time !== 'string') {
    throw new Error(`Not a schedule fire: ${JSON.stringify(event).slice(0, 300)}`);
  }
  return (await fireSchedule({ schedule_id: event.schedule_id, fire_time: event.fire_time })) ?? null;
});
