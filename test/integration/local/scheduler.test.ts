/**
 * The local EventBridge Scheduler through the real @aws-sdk/client-scheduler: create, get, update,
 * list and delete as AWS answers them (its errors too); fires at the right instant on a moved
 * clock, in a time zone across DST, with the context attributes in the Input; retries into the
 * dead-letter list; one-time schedules delete themselves; schedules persist, and a fire missed
 * while stopped is delivered once on start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '../../../infra/local/aws-endpoint.ts';
import { schedulerHandler } from '../../../infra/local/scheduler/api.ts';
import { createLocalScheduler, type LocalScheduler } from '../../../infra/local/scheduler/schedules.ts';
import { schedulerAt, schedulerCron } from '../../../shared/domain/calendar.ts';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const GROUP = 'slipway-test';
const TARGET = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:slipway-schedule-fire`;
const ROLE = `arn:aws:iam::${ACCOUNT}:role/scheduler`;
const DLQ = `arn:aws:sqs:${REGION}:${ACCOUNT}:schedule-dead-letters`;
const INPUT = '{"schedule_id":"sch_1","fire_time":"<aws.scheduler.scheduled-time>"}';

interface Invocation {
  arn: string;
  payload: Record<string, unknown>;
  at: Date;
}

const dataDirs: string[] = [];
let scheduler: LocalScheduler;
let endpoint: AwsEndpoint;
let client: SchedulerClient;
let invocations: Invocation[];
let failing: number;

async function start(dataDir?: string, now?: Date) {
  scheduler = createLocalScheduler({
    region: REGION,
    accountId: ACCOUNT,
    groups: [GROUP],
    invoke: async (arn, payload) => {
      if (failing > 0) {
        failing--;
        throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
      }
      invocations.push({ arn, payload: payload as Record<string, unknown>, at: scheduler.now() });
    },
    backoff: { initialMs: 5, maxMs: 20 },
    ...(dataDir ? { dataDir } : {}),
    ...(now ? { now } : {}),
  });
  scheduler.start();
  endpoint = await startAwsEndpoint({
    services: {},
    restBySigningName: { scheduler: schedulerHandler(scheduler) },
  });
  client = new SchedulerClient({
    endpoint: endpoint.url,
    region: REGION,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
}

async function stop() {
  client?.destroy();
  await scheduler?.stop();
  await endpoint?.close();
}

beforeEach(async () => {
  invocations = [];
  failing = 0;
  await start();
});
afterEach(stop);
afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

const schedule = (overrides: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput => ({
  Name: 'sch_1',
  GroupName: GROUP,
  ScheduleExpression: 'cron(0 2 * * ? *)',
  ScheduleExpressionTimezone: 'Europe/Berlin',
  FlexibleTimeWindow: { Mode: 'OFF' },
  Target: {
    Arn: TARGET,
    RoleArn: ROLE,
    Input: INPUT,
    RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
    DeadLetterConfig: { Arn: DLQ },
  },
  ...overrides,
});

describe('the local Scheduler API', () => {
  it('creates a schedule and reads it back as GetSchedule answers', async () => {
    const created = await client.send(
      new CreateScheduleCommand(schedule({ Description: 'nightly', ActionAfterCompletion: 'NONE' })),
    );

    expect(created.ScheduleArn).toBe(`arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/${GROUP}/sch_1`);
    const got = await client.send(new GetScheduleCommand({ Name: 'sch_1', GroupName: GROUP }));
    expect(got).toMatchObject({
      Arn: created.ScheduleArn,
      Name: 'sch_1',
      GroupName: GROUP,
      Description: 'nightly',
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'NONE',
      Target: { Arn: TARGET, RoleArn: ROLE, Input: INPUT, DeadLetterConfig: { Arn: DLQ } },
    });
    expect(got.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs((got.CreationDate as Date).getTime() - Date.now())).toBeLessThan(5_000);
  });

  it('refuses a second schedule of the same name with ConflictException (409), unless it is the same request retried', async () => {
    await client.send(new CreateScheduleCommand(schedule({ ClientToken: 'token-1' })));

    const error = await client
      .send(new CreateScheduleCommand(schedule({ ClientToken: 'token-2' })))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictException);
    expect(error).toMatchObject({ message: 'Schedule sch_1 already exists.', $metadata: { httpStatusCode: 409 } });
    await expect(client.send(new CreateScheduleCommand(schedule({ ClientToken: 'token-1' })))).resolves.toMatchObject({
      ScheduleArn: expect.stringContaining('/sch_1'),
    });
  });

  it('answers ResourceNotFoundException (404) for an absent schedule or group', async () => {
    const absent = await client
      .send(new GetScheduleCommand({ Name: 'nope', GroupName: GROUP }))
      .catch((e: unknown) => e);
    expect(absent).toBeInstanceOf(ResourceNotFoundException);
    expect(absent).toMatchObject({ message: 'Schedule nope does not exist.', $metadata: { httpStatusCode: 404 } });
    await expect(client.send(new DeleteScheduleCommand({ Name: 'nope', GroupName: GROUP }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(client.send(new UpdateScheduleCommand(schedule({ Name: 'nope' })))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(client.send(new CreateScheduleCommand(schedule({ GroupName: 'other' })))).rejects.toThrow(
      'Schedule group other does not exist.',
    );
  });

  it.each<[string, Partial<CreateScheduleCommandInput>]>([
    ['an expression that is none of at, rate, cron', { ScheduleExpression: 'every day' }],
    ['a cron with both day fields set', { ScheduleExpression: 'cron(0 2 1 * MON *)' }],
    ['a cron minute out of range', { ScheduleExpression: 'cron(61 2 * * ? *)' }],
    ['rate with a plural unit for 1', { ScheduleExpression: 'rate(1 minutes)' }],
    ['an unknown time zone', { ScheduleExpressionTimezone: 'Mars/Olympus' }],
    ['a flexible window without its size', { FlexibleTimeWindow: { Mode: 'FLEXIBLE' } }],
    ['a flexible window over 1440 minutes', { FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 1441 } }],
    ['no flexible window', { FlexibleTimeWindow: undefined }],
    ['no target', { Target: undefined }],
    [
      'a retry policy over 185 attempts',
      { Target: { Arn: TARGET, RoleArn: ROLE, RetryPolicy: { MaximumRetryAttempts: 186 } } },
    ],
    [
      'a dead-letter queue that is not SQS',
      { Target: { Arn: TARGET, RoleArn: ROLE, DeadLetterConfig: { Arn: TARGET } } },
    ],
    ['a name with a slash-free but invalid character', { Name: 'sch 1' }],
    ['an unknown state', { State: 'PAUSED' as 'ENABLED' }],
  ])('refuses %s with ValidationException (400) and creates nothing', async (_, overrides) => {
    const error = await client.send(new CreateScheduleCommand(schedule(overrides))).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationException);
    expect(error).toMatchObject({ $metadata: { httpStatusCode: 400 } });
    expect((await client.send(new ListSchedulesCommand({}))).Schedules).toEqual([]);
  });

  it('updates a schedule as a whole, and deletes it', async () => {
    await client.send(new CreateScheduleCommand(schedule({ Description: 'nightly' })));

    await client.send(
      new UpdateScheduleCommand(schedule({ ScheduleExpression: 'rate(5 minutes)', State: 'DISABLED' })),
    );
    const got = await client.send(new GetScheduleCommand({ Name: 'sch_1', GroupName: GROUP }));
    expect(got).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'DISABLED' });
    expect(got.Description).toBeUndefined(); // UpdateSchedule replaces: what it leaves out is gone

    await client.send(new DeleteScheduleCommand({ Name: 'sch_1', GroupName: GROUP }));
    await expect(client.send(new GetScheduleCommand({ Name: 'sch_1', GroupName: GROUP }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('lists schedules by group, prefix and state, in pages', async () => {
    for (const name of ['sch_a', 'sch_b', 'sch_c'])
      await client.send(new CreateScheduleCommand(schedule({ Name: name })));
    await client.send(new CreateScheduleCommand(schedule({ Name: 'other', State: 'DISABLED' })));
    await client.send(new CreateScheduleCommand(schedule({ Name: 'sch_default', GroupName: undefined })));

    const first = await client.send(new ListSchedulesCommand({ GroupName: GROUP, NamePrefix: 'sch_', MaxResults: 2 }));
    expect(first.Schedules?.map((s) => s.Name)).toEqual(['sch_a', 'sch_b']);
    expect(first.Schedules?.[0]).toMatchObject({ GroupName: GROUP, State: 'ENABLED', Target: { Arn: TARGET } });
    const second = await client.send(
      new ListSchedulesCommand({ GroupName: GROUP, NamePrefix: 'sch_', MaxResults: 2, NextToken: first.NextToken }),
    );
    expect(second.Schedules?.map((s) => s.Name)).toEqual(['sch_c']);
    expect(second.NextToken).toBeUndefined();
    const disabled = await client.send(new ListSchedulesCommand({ State: 'DISABLED' }));
    expect(disabled.Schedules?.map((s) => s.Name)).toEqual(['other']);
    const inDefault = await client.send(new ListSchedulesCommand({ GroupName: 'default' }));
    expect(inDefault.Schedules?.map((s) => s.Name)).toEqual(['sch_default']);
  });
});

describe('the local Scheduler fires', () => {
  it('a one-time schedule at its instant, with the scheduled time in the Input, then deletes it', async () => {
    const at = new Date('2030-01-15T09:30:00Z');
    await scheduler.setNow(new Date('2030-01-15T09:00:00Z'));
    await client.send(
      new CreateScheduleCommand(
        schedule({
          ScheduleExpression: schedulerAt(at),
          ScheduleExpressionTimezone: 'UTC',
          ActionAfterCompletion: 'DELETE',
        }),
      ),
    );

    await scheduler.advance(29 * 60_000 + 59_000);
    await scheduler.drained();
    expect(invocations).toEqual([]);
    await scheduler.advance(1_000);
    await scheduler.drained();

    expect(invocations).toEqual([
      { arn: TARGET, payload: { schedule_id: 'sch_1', fire_time: '2030-01-15T09:30:00Z' }, at: expect.any(Date) },
    ]);
    await expect(client.send(new GetScheduleCommand({ Name: 'sch_1', GroupName: GROUP }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('a cron in its time zone across the spring-forward day: 02:30 Berlin does not exist on 2030-03-31 and is skipped', async () => {
    await scheduler.setNow(new Date('2030-03-29T12:00:00Z'));
    await client.send(new CreateScheduleCommand(schedule({ ScheduleExpression: schedulerCron('30 2 * * *') })));

    await scheduler.advance(4 * 86_400_000);
    await scheduler.drained();

    expect(invocations.map((i) => i.payload.fire_time)).toEqual([
      '2030-03-30T01:30:00Z', // 02:30 CET
      '2030-04-01T00:30:00Z', // 02:30 CEST; none on the 31st
      '2030-04-02T00:30:00Z',
    ]);
  });

  it('a cron across the fall-back day: 01:30 New York happens twice on 2030-11-03 and fires once', async () => {
    await scheduler.setNow(new Date('2030-11-02T12:00:00Z'));
    await client.send(
      new CreateScheduleCommand(
        schedule({ ScheduleExpression: schedulerCron('30 1 * * *'), ScheduleExpressionTimezone: 'America/New_York' }),
      ),
    );

    await scheduler.advance(2 * 86_400_000);
    await scheduler.drained();

    expect(invocations.map((i) => i.payload.fire_time)).toEqual([
      '2030-11-03T05:30:00Z', // 01:30 EDT, the first of the two
      '2030-11-04T06:30:00Z', // 01:30 EST
    ]);
  });

  it('nothing before it is started (the local cloud starts it once the functions can run)', async () => {
    await stop();
    const dataDir = mkdtempSync(join(tmpdir(), 'slipway-scheduler-'));
    dataDirs.push(dataDir);
    await start(dataDir, new Date('2030-01-15T09:00:00Z'));
    // Every whole minute: a rate() counts from the schedule's creation, to the millisecond of a clock that
    // runs on, so which minute is the latest missed one would depend on how fast this test ran.
    await client.send(new CreateScheduleCommand(schedule({ ScheduleExpression: 'cron(* * * * ? *)' })));
    await stop();
    const idle = createLocalScheduler({
      region: REGION,
      accountId: ACCOUNT,
      groups: [GROUP],
      dataDir,
      now: new Date('2030-01-15T10:00:00Z'),
      invoke: async (arn, payload) =>
        void invocations.push({ arn, payload: payload as Record<string, unknown>, at: new Date() }),
    });
    try {
      invocations = [];
      await idle.advance(60_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(invocations).toEqual([]);
      idle.start();
      await idle.drained();
      expect(invocations.map((i) => i.payload)).toEqual([{ schedule_id: 'sch_1', fire_time: '2030-01-15T10:01:00Z' }]);
    } finally {
      // Stopped whatever happened: a scheduler left running would fire into the next test.
      await idle.stop();
    }
  });

  it('the context attributes: execution id, attempt number and schedule ARN', async () => {
    await scheduler.setNow(new Date('2030-01-15T09:00:00Z'));
    const input =
      '{"id":"<aws.scheduler.execution-id>","attempt":"<aws.scheduler.attempt-number>","arn":"<aws.scheduler.schedule-arn>"}';
    await client.send(
      new CreateScheduleCommand(
        schedule({ ScheduleExpression: 'cron(* * * * ? *)', Target: { Arn: TARGET, RoleArn: ROLE, Input: input } }),
      ),
    );
    failing = 1;

    await scheduler.advance(60_000);
    await scheduler.drained();

    expect(invocations).toHaveLength(1);
    expect(invocations[0]?.payload).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      attempt: '2',
      arn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/${GROUP}/sch_1`,
    });
  });

  it('retries a failing target up to its retry policy, then sends the fire to the dead-letter list', async () => {
    await scheduler.setNow(new Date('2030-01-15T09:00:30Z'));
    await client.send(
      new CreateScheduleCommand(
        schedule({ ScheduleExpression: 'cron(1 9 * * ? *)', ScheduleExpressionTimezone: 'UTC' }),
      ),
    );
    failing = 3;

    await scheduler.advance(30_000);
    await scheduler.drained();

    expect(invocations).toEqual([]);
    expect(scheduler.deadLetters()).toEqual([
      expect.objectContaining({
        queue_arn: DLQ,
        schedule_arn: expect.stringContaining('/sch_1'),
        target_arn: TARGET,
        body: '{"schedule_id":"sch_1","fire_time":"2030-01-15T09:01:00Z"}',
        error_code: 'TooManyRequestsException',
        attempts: 3,
      }),
    ]);
  });

  it('dead-letters at once an Input that is not JSON once filled in: retrying it never helps', async () => {
    await scheduler.setNow(new Date('2030-01-15T09:00:30Z'));
    const broken = {
      Arn: TARGET,
      RoleArn: ROLE,
      Input: '{"fire_time":<aws.scheduler.scheduled-time>}',
      DeadLetterConfig: { Arn: DLQ },
    };
    await client.send(
      new CreateScheduleCommand(
        schedule({ ScheduleExpression: 'cron(1 9 * * ? *)', ScheduleExpressionTimezone: 'UTC', Target: broken }),
      ),
    );

    await scheduler.advance(30_000);
    await scheduler.drained();

    expect(invocations).toEqual([]);
    expect(scheduler.deadLetters()).toEqual([
      expect.objectContaining({
        body: '{"fire_time":2030-01-15T09:01:00Z}',
        error_code: 'InvalidRequestContentException',
        attempts: 1,
      }),
    ]);
  });

  it('nothing while disabled, and a flexible window fire within its window', async () => {
    await scheduler.setNow(new Date('2030-01-15T09:00:00Z'));
    await client.send(
      new CreateScheduleCommand(
        schedule({ ScheduleExpression: 'cron(10 9 * * ? *)', ScheduleExpressionTimezone: 'UTC', State: 'DISABLED' }),
      ),
    );
    await scheduler.advance(15 * 60_000);
    await scheduler.drained();
    expect(invocations).toEqual([]);

    await client.send(
      new UpdateScheduleCommand(
        schedule({
          ScheduleExpression: 'cron(20 9 * * ? *)',
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 },
        }),
      ),
    );
    await scheduler.advance(5 * 60_000); // 09:20
    await scheduler.advance(5 * 60_000); // 09:25, the window's end
    await scheduler.drained();
    expect(invocations.map((i) => i.payload.fire_time)).toEqual(['2030-01-15T09:20:00Z']);
    expect(invocations[0]?.at.getTime()).toBeGreaterThanOrEqual(Date.parse('2030-01-15T09:20:00Z'));
  });

  it('keeps schedules across a restart, and delivers only the latest fire missed while stopped', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'slipway-scheduler-'));
    dataDirs.push(dataDir);
    await stop();
    await start(dataDir, new Date('2030-01-15T09:00:00Z'));
    await client.send(
      new CreateScheduleCommand(
        schedule({ ScheduleExpression: 'rate(10 minutes)', StartDate: new Date('2030-01-15T09:05:00Z') }),
      ),
    );
    await stop();

    // Stopped from 09:00 to 09:37: the fires of 09:05, 09:15 and 09:25 were missed; 09:35 is the latest.
    await start(dataDir, new Date('2030-01-15T09:37:00Z'));
    await scheduler.drained();

    expect(invocations.map((i) => i.payload.fire_time)).toEqual(['2030-01-15T09:35:00Z']);
    const got = await client.send(new GetScheduleCommand({ Name: 'sch_1', GroupName: GROUP }));
    expect(got.ScheduleExpression).toBe('rate(10 minutes)');
    await scheduler.advance(8 * 60_000);
    await scheduler.drained();
    expect(invocations.map((i) => i.payload.fire_time)).toEqual(['2030-01-15T09:35:00Z', '2030-01-15T09:45:00Z']);
  });
});
