/**
 * Section: schedule fire accuracy on the local cloud's Scheduler, on the real clock. One-time
 * schedules a few seconds ahead (at() to the second), created through @aws-sdk/client-scheduler as
 * the schedules API does; each fire's arrival at its target function, against the instant it was
 * scheduled for. EventBridge Scheduler itself promises the minute (a fire at 01:00 arrives between
 * 01:00:00 and 01:00:59): locally the timer aims at the instant.
 */
import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import type { FunctionLike } from '../../infra/local/lambda-runtime.ts';
import { functionArn, SCHEDULE_GROUP, SCHEDULER_ROLE_ARN } from '../../infra/local/services.ts';
import { arrivals } from './fixtures/fire-target.ts';
import { ms, percentile, table } from './stats.ts';

/** Registered with the bench's cloud (extraFunctions): the target the schedules invoke. */
export const fireTarget: FunctionLike = {
  name: 'bench-fire-target',
  entry: 'test/bench/fixtures/fire-target.ts',
  timeoutSeconds: 3,
  memoryMb: 128,
};

export interface FireReport {
  fires: number;
  /** Scheduled instant → the target function invoked, ms. */
  lateness: { p50: number; p99: number; max: number; min: number };
  /** CreateSchedule through the SDK against the local endpoint, ms. */
  create: { p50: number; p99: number };
}

export async function measureFires(cloud: LocalCloud, count = 40): Promise<FireReport> {
  const client = new SchedulerClient({
    endpoint: cloud.services.endpoint.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  arrivals.length = 0;
  const run = Date.now().toString(36);
  // Fires spread over eight seconds from two seconds ahead, several sharing a second.
  const start = Math.ceil(Date.now() / 1000) * 1000 + 2_000;
  const scheduled = new Map<string, number>();
  const creates: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = start + Math.floor((i * 8) / count) * 1000;
    const name = `bench-${run}-${i}`;
    scheduled.set(name, at);
    const began = performance.now();
    await client.send(
      new CreateScheduleCommand({
        Name: name,
        GroupName: SCHEDULE_GROUP,
        ScheduleExpression: `at(${new Date(at).toISOString().slice(0, 19)})`,
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: { Arn: functionArn(fireTarget), RoleArn: SCHEDULER_ROLE_ARN, Input: JSON.stringify({ name }) },
      }),
    );
    creates.push(performance.now() - began);
  }
  const deadline = start + 8_000 + 10_000;
  while (arrivals.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  client.destroy();
  if (arrivals.length < count) throw new Error(`only ${arrivals.length} of ${count} schedules fired`);
  const lateness = arrivals.map(({ event, at }) => at - (scheduled.get(String(event.name)) as number));
  return {
    fires: count,
    lateness: {
      p50: percentile(lateness, 50),
      p99: percentile(lateness, 99),
      max: Math.max(...lateness),
      min: Math.min(...lateness),
    },
    create: { p50: percentile(creates, 50), p99: percentile(creates, 99) },
  };
}

export function firesMarkdown(report: FireReport): string {
  return [
    '## Schedule fires',
    '',
    `${report.fires} one-time schedules created through @aws-sdk/client-scheduler on the local cloud's Scheduler, firing over eight seconds on the real clock (several in the same second); each fire timed from its scheduled instant to its target function's invocation. EventBridge Scheduler promises the minute; the local timer aims at the instant.`,
    '',
    table(
      ['', 'p50', 'p99', 'max'],
      [
        [
          'scheduled instant → target invoked',
          ms(report.lateness.p50, 1),
          ms(report.lateness.p99, 1),
          ms(report.lateness.max, 1),
        ],
        ['CreateSchedule (SDK → local endpoint)', ms(report.create.p50, 1), ms(report.create.p99, 1), ''],
      ],
    ),
  ].join('\n');
}
