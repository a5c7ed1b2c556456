/**
 * Section: schedule fire accuracy on the local cloud's Scheduler, on the real clock. One-time
 * schedules a few seconds ahead (at() to the second), created through @aws-sdk/client-scheduler as
 * the schedules API does; each fire's arrival at its target function, against the instant it was
 * scheduled for. EventBridge Scheduler itself promises the minute (a fire at 01:00 arrives between
 * 01:00:00 and 01:00:59): locally the timer aims at the instant.
 * Then the real path: one-time deploy schedules made with `POST /schedules`, fired into the
 * schedule-fire function, each timed from its scheduled instant to its deployment queued.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import type { FunctionLike } from '../../infra/local/lambda-runtime.ts';
import { functionArn, SCHEDULE_GROUP, SCHEDULER_ROLE_ARN } from '../../infra/local/services.ts';
import { FINAL_STATES } from '../../shared/delivery/model.ts';
import type { Client } from '../integration/client.ts';
import { deliveryWorld } from '../integration/delivery/world.ts';
import { bodies } from '../integration/seed.ts';
import { arrivals } from './fixtures/fire-target.ts';
import { ms, percentile, table } from './stats.ts';

/** Registered with the bench's cloud (extraFunctions): the target the schedules invoke. */
export const fireTarget: FunctionLike = {
  name: 'bench-fire-target',
  entry: 'test/bench/fixtures/fire-target.ts',
  timeoutSeconds: 3,
  memoryMb: 128,
};

export interface Spread {
  p50: number;
  p99: number;
  max: number;
  min: number;
}

export interface FireReport {
  fires: number;
  /** Scheduled instant → the target function invoked, ms. */
  lateness: Spread;
  /** CreateSchedule through the SDK against the local endpoint, ms. */
  create: { p50: number; p99: number };
  /** The real path: schedules made through the API, fired into schedule-fire. */
  deploys: ScheduledDeploys;
}

export interface ScheduledDeploys {
  fires: number;
  envs: number;
  /** The instant every one was scheduled for: a whole minute (the API gives Scheduler `at()` to the minute). */
  scheduledFor: string;
  /** Scheduled instant → schedule-fire began the fire (its record's `fired_at`), ms. */
  fireStarted: Spread;
  /** Scheduled instant → the deployment queued (its `created_at`, the `queued` step's `at`), ms. */
  queued: Spread;
  /** `POST /schedules` over HTTP (the item, then CreateSchedule), ms. */
  create: { p50: number; p99: number };
}

const spread = (samples: number[]): Spread => ({
  p50: percentile(samples, 50),
  p99: percentile(samples, 99),
  max: Math.max(...samples),
  min: Math.min(...samples),
});

export async function measureFires(cloud: LocalCloud, count = 40, deploys = 20): Promise<FireReport> {
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
    lateness: spread(lateness),
    create: { p50: percentile(creates, 50), p99: percentile(creates, 99) },
    deploys: await measureScheduledDeploys(cloud, deploys),
  };
}

/**
 * `count` deploy schedules through `POST /schedules`, all for the next whole minute at least 15 s
 * ahead (the API hands Scheduler `at()` to the minute: a burst at one instant, as "ship at 02:00"
 * makes), spread over four environments of the delivery world's app so neither the environment
 * lock nor the deploy quota (10 a minute per environment) holds one back. Waits for the minute.
 */
export async function measureScheduledDeploys(cloud: LocalCloud, count = 20): Promise<ScheduledDeploys> {
  const world = await deliveryWorld(cloud);
  const envs = ['dev'];
  for (let i = 1; envs.length < 4; i++) {
    const reply = await world.admin.post(
      `/api/v1/apps/${world.app.id}/envs`,
      bodies.env(world.cluster.id, `fire-${i}`),
    );
    if (reply.status !== 201) throw new Error(`Creating environment fire-${i} answered ${reply.status}: ${reply.text}`);
    envs.push(`fire-${i}`);
  }
  const instant = Math.ceil((Date.now() + 15_000) / 60_000) * 60_000;
  const scheduledFor = new Date(instant).toISOString();
  const ids: string[] = [];
  const creates: number[] = [];
  for (let i = 0; i < count; i++) {
    const began = performance.now();
    const reply = await world.developer.post('/api/v1/schedules', {
      app_id: world.app.id,
      env: envs[i % envs.length],
      name: `bench fire ${i}`,
      action: { type: 'deploy', image: `2.0.${i}` },
      at: scheduledFor,
    });
    creates.push(performance.now() - began);
    if (reply.status !== 201) throw new Error(`POST /schedules answered ${reply.status}: ${reply.text}`);
    ids.push(String(reply.body.id));
  }
  if (Date.now() >= instant) throw new Error(`Creating ${count} schedules ran past their instant ${scheduledFor}`);

  // Nothing polls while they fire: the Scheduler drops each one-time schedule once it has delivered it.
  await sleep(instant - Date.now());
  const pending = () => cloud.services.scheduler.list().filter((s) => ids.includes(s.name)).length;
  const deadline = instant + 30_000;
  while (pending() > 0 && Date.now() < deadline) await sleep(200);
  await cloud.services.scheduler.drained();
  if (pending() > 0) throw new Error(`${pending()} of ${count} schedules had not fired 30 s after ${scheduledFor}`);

  const fireStarted: number[] = [];
  const queued: number[] = [];
  for (const id of ids) {
    const fire = (await read(world.developer, `/api/v1/schedules/${id}`)).last_fire;
    if (fire?.outcome !== 'deployed')
      throw new Error(`Schedule ${id} fired without a deployment: ${JSON.stringify(fire)}`);
    const deployment = await read(world.developer, `/api/v1/deployments/${fire.deployment_id}`);
    fireStarted.push(Date.parse(fire.fired_at) - instant);
    queued.push(Date.parse(deployment.created_at) - instant);
    await settled(world.developer, String(fire.deployment_id));
  }
  return {
    fires: count,
    envs: envs.length,
    scheduledFor,
    fireStarted: spread(fireStarted),
    queued: spread(queued),
    create: { p50: percentile(creates, 50), p99: percentile(creates, 99) },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the bench reads whatever JSON came back
async function read(api: Client, path: string): Promise<any> {
  const reply = await api.get(path);
  if (reply.status !== 200) throw new Error(`GET ${path} answered ${reply.status}: ${reply.text}`);
  return reply.body;
}

/** The deployments run to their end before the cloud stops (the simulated cluster rolls out at once). */
async function settled(api: Client, id: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!FINAL_STATES.has((await read(api, `/api/v1/deployments/${id}/status`)).state)) {
    if (Date.now() > deadline) throw new Error(`Deployment ${id} was not done 60 s after it was queued`);
    await sleep(100);
  }
}

const row = (name: string, s: Spread) => [name, ms(s.p50, 1), ms(s.p99, 1), ms(s.max, 1)];

export function firesMarkdown(report: FireReport): string {
  const d = report.deploys;
  return [
    '## Schedule fires',
    '',
    `${report.fires} one-time schedules created through @aws-sdk/client-scheduler on the local cloud's Scheduler, firing over eight seconds on the real clock (several in the same second); each fire timed from its scheduled instant to its target function's invocation. EventBridge Scheduler promises the minute; the local timer aims at the instant.`,
    '',
    table(
      ['', 'p50', 'p99', 'max'],
      [
        row('scheduled instant → target invoked', report.lateness),
        ['CreateSchedule (SDK → local endpoint)', ms(report.create.p50, 1), ms(report.create.p99, 1), ''],
      ],
    ),
    '',
    `Through the API: ${d.fires} one-time deploy schedules made with \`POST /schedules\` (a developer, ${d.envs} environments of one app), all for one whole minute (the API gives Scheduler \`at()\` to the minute), fired by the local Scheduler on the real clock into the schedule-fire function, which deploys as the schedule's owner; each timed from the scheduled instant to its fire record's \`fired_at\` and to its deployment's \`created_at\` (the \`queued\` step).`,
    '',
    table(
      ['', 'p50', 'p99', 'max'],
      [
        row('scheduled instant → fire began', d.fireStarted),
        row('scheduled instant → deployment queued', d.queued),
        ['POST /schedules (HTTP → local gateway)', ms(d.create.p50, 1), ms(d.create.p99, 1), ''],
      ],
    ),
  ].join('\n');
}

/** `node test/bench/schedules.ts`: this section alone, on a throwaway local cloud with the default limits and quotas. */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { startLocalCloud } = await import('../../infra/local/cloud.ts');
  const cloud = await startLocalCloud({
    port: 0,
    inMemory: true,
    quiet: true,
    kubernetes: { podStartMs: 0, badImageFailAfterMs: 1 },
    schedules: false,
    extraFunctions: [fireTarget],
  });
  try {
    process.stdout.write(`${firesMarkdown(await measureFires(cloud))}\n`);
  } finally {
    await cloud.stop();
  }
}
