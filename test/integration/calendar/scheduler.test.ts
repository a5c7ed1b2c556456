/**
 * The Scheduler adapter (shared/calendar/scheduler.ts) against the local cloud's Scheduler, as
 * the schedules API uses it: one Scheduler schedule per Slipway schedule in the platform's group,
 * targeting the fire function with the schedule id and the scheduled time, a retry policy and the
 * dead-letter queue; one-time schedules delete themselves after their fire.
 */
import { GetScheduleCommand, ResourceNotFoundException, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { functionArn, SCHEDULE_DLQ_ARN, SCHEDULE_GROUP, SCHEDULER_ROLE_ARN } from '../../../infra/local/services.ts';
import { deleteTrigger, putTrigger, type Trigger } from '../../../shared/calendar/scheduler.ts';
import { ENV } from '../../../shared/config.ts';
import { schedulerAt, schedulerCron } from '../../../shared/domain/calendar.ts';
import { fires } from '../fixtures/fires.ts';
import { startTestCloud, type TestCloud } from '../harness.ts';

const recorder = {
  name: 'fire-recorder',
  entry: 'test/integration/fixtures/fires.ts',
  timeoutSeconds: 3,
  memoryMb: 128,
};

let cloud: TestCloud;
let scheduler: SchedulerClient;

beforeAll(async () => {
  cloud = await startTestCloud({ functions: [recorder], delivery: { schedulerBackoff: { initialMs: 5, maxMs: 20 } } });
  scheduler = new SchedulerClient({});
});
afterAll(async () => {
  scheduler?.destroy();
  await cloud?.stop();
});
beforeEach(() => {
  fires.length = 0;
});

const read = (name: string) => scheduler.send(new GetScheduleCommand({ Name: name, GroupName: SCHEDULE_GROUP }));

describe('the Scheduler adapter', () => {
  it('creates the schedule in the platform group, targeting the fire function with a retry policy and the dead-letter queue', async () => {
    const trigger: Trigger = {
      id: 'sch_cron',
      expression: schedulerCron('0 2 * * 1-5'),
      timezone: 'Europe/Berlin',
      flexibleWindowMinutes: 15,
      enabled: true,
      oneTime: false,
    };
    await putTrigger(trigger, 'create');

    expect(await read('sch_cron')).toMatchObject({
      GroupName: SCHEDULE_GROUP,
      ScheduleExpression: 'cron(0 2 ? * MON,TUE,WED,THU,FRI *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      State: 'ENABLED',
      ActionAfterCompletion: 'NONE',
      Target: {
        Arn: functionArn({ name: 'schedule-fire' } as never),
        RoleArn: SCHEDULER_ROLE_ARN,
        Input: '{"schedule_id":"sch_cron","fire_time":"<aws.scheduler.scheduled-time>"}',
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: SCHEDULE_DLQ_ARN },
      },
    });
  });

  it('updates in place, pauses with enabled false, and creates what an update finds gone (a fired one-time schedule)', async () => {
    const trigger: Trigger = {
      id: 'sch_pause',
      expression: schedulerCron('30 6 * * *'),
      timezone: 'UTC',
      enabled: true,
      oneTime: false,
    };
    await putTrigger(trigger, 'create');

    await putTrigger({ ...trigger, enabled: false }, 'update');
    expect(await read('sch_pause')).toMatchObject({ State: 'DISABLED', FlexibleTimeWindow: { Mode: 'OFF' } });
    await putTrigger({ ...trigger, expression: schedulerCron('0 7 * * *') }, 'create'); // a create retried: an update
    expect(await read('sch_pause')).toMatchObject({ State: 'ENABLED', ScheduleExpression: 'cron(0 7 * * ? *)' });

    await putTrigger({ ...trigger, id: 'sch_gone' }, 'update');
    expect(await read('sch_gone')).toMatchObject({ Name: 'sch_gone' });
  });

  it('deletes, and a delete of an absent schedule is fine', async () => {
    await putTrigger(
      { id: 'sch_del', expression: schedulerCron('0 0 * * *'), timezone: 'UTC', enabled: true, oneTime: false },
      'create',
    );

    await deleteTrigger('sch_del');
    await expect(read('sch_del')).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(deleteTrigger('sch_del')).resolves.toBeUndefined();
  });

  it('fires a one-time schedule at its instant into the target with the schedule id and fire time, then it is gone', async () => {
    const previousTarget = process.env[ENV.scheduleTargetArn];
    process.env[ENV.scheduleTargetArn] = functionArn(recorder);
    try {
      const clock = cloud.services.scheduler;
      await clock.setNow(new Date('2031-06-01T11:59:00Z'));
      const at = new Date('2031-06-01T12:00:00Z');
      await putTrigger(
        { id: 'sch_once', expression: schedulerAt(at), timezone: 'UTC', enabled: true, oneTime: true },
        'create',
      );

      await clock.advance(60_000);
      await clock.drained();

      expect(fires).toEqual([{ schedule_id: 'sch_once', fire_time: '2031-06-01T12:00:00Z' }]);
      expect(clock.deadLetters()).toEqual([]);
      await expect(read('sch_once')).rejects.toBeInstanceOf(ResourceNotFoundException);
    } finally {
      process.env[ENV.scheduleTargetArn] = previousTarget;
    }
  });
});
