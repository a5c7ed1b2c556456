/**
 * `npm start` stopped while a schedule should have fired, then started again on the same data
 * folder: the schedule is still there, and only its latest missed fire reaches the target, once,
 * with its scheduled time, after the functions' environment is set (ADR 24).
 */
import { afterAll, expect, it } from 'vitest';
import { functionArn } from '../../../infra/local/services.ts';
import { putTrigger } from '../../../shared/calendar/scheduler.ts';
import { ENV } from '../../../shared/config.ts';
import { schedulerCron } from '../../../shared/domain/calendar.ts';
import { fires } from '../fixtures/fires.ts';
import { type RestartableCloud, restartableCloud } from '../restartable.ts';

const recorder = {
  name: 'fire-recorder',
  entry: 'test/integration/fixtures/fires.ts',
  timeoutSeconds: 3,
  memoryMb: 128,
};

let local: RestartableCloud | undefined;
afterAll(() => local?.dispose());

it('a restart delivers the latest fire missed while stopped, once, and drops the older ones', async () => {
  local = await restartableCloud('scheduler-restart', { schedules: false, extraFunctions: [recorder] });
  let cloud = await local.start({ schedulerNow: new Date('2030-01-15T09:05:00Z') });
  process.env[ENV.scheduleTargetArn] = functionArn(recorder);
  await putTrigger(
    { id: 'sch_every10', expression: schedulerCron('*/10 * * * *'), timezone: 'UTC', enabled: true, oneTime: false },
    'create',
  );
  await cloud.stop();

  // Stopped from 09:05 to 09:37: 09:10, 09:20 and 09:30 were missed.
  cloud = await local.start({ schedulerNow: new Date('2030-01-15T09:37:00Z') });
  await cloud.services.scheduler.drained();

  expect(fires).toEqual([{ schedule_id: 'sch_every10', fire_time: '2030-01-15T09:30:00Z' }]);
  await cloud.services.scheduler.advance(3 * 60_000);
  await cloud.services.scheduler.drained();
  expect(fires.map((f) => (f as { fire_time: string }).fire_time)).toEqual([
    '2030-01-15T09:30:00Z',
    '2030-01-15T09:40:00Z',
  ]);
});
