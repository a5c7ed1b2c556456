/**
 * `npm start` stopped while a schedule should have fired, then started again on the same data
 * folder: the schedule is still there, and only its latest missed fire reaches the target, once,
 * with its scheduled time, after the functions' environment is set (ADR 24).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../../infra/local/cloud.ts';
import { freePort } from '../../../infra/local/ports.ts';
import { functionArn } from '../../../infra/local/services.ts';
import { putTrigger } from '../../../shared/calendar/scheduler.ts';
import { ENV } from '../../../shared/config.ts';
import { schedulerCron } from '../../../shared/domain/calendar.ts';
import { fires } from '../fixtures/fires.ts';

const recorder = {
  name: 'fire-recorder',
  entry: 'test/integration/fixtures/fires.ts',
  timeoutSeconds: 3,
  memoryMb: 128,
};

let dataDir: string;
let cloud: LocalCloud | undefined;
afterAll(async () => {
  await cloud?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('a restart delivers the latest fire missed while stopped, once, and drops the older ones', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'slipway-scheduler-restart-'));
  const options = {
    // Fixed ports, as under npm start: the adapter's client, created once, keeps its endpoint.
    port: await freePort(),
    awsPort: await freePort(),
    dataDir,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `slipway-test-${randomUUID().slice(0, 8)}`,
    quiet: true,
    schedules: false,
    extraFunctions: [recorder],
    kubernetes: { port: await freePort() },
  };
  cloud = await startLocalCloud({ ...options, schedulerNow: new Date('2030-01-15T09:05:00Z') });
  process.env[ENV.scheduleTargetArn] = functionArn(recorder);
  await putTrigger(
    { id: 'sch_every10', expression: schedulerCron('*/10 * * * *'), timezone: 'UTC', enabled: true, oneTime: false },
    'create',
  );
  await cloud.stop();

  // Stopped from 09:05 to 09:37: 09:10, 09:20 and 09:30 were missed.
  cloud = await startLocalCloud({ ...options, schedulerNow: new Date('2030-01-15T09:37:00Z') });
  await cloud.services.scheduler.drained();

  expect(fires).toEqual([{ schedule_id: 'sch_every10', fire_time: '2030-01-15T09:30:00Z' }]);
  await cloud.services.scheduler.advance(3 * 60_000);
  await cloud.services.scheduler.drained();
  expect(fires.map((f) => (f as { fire_time: string }).fire_time)).toEqual([
    '2030-01-15T09:30:00Z',
    '2030-01-15T09:40:00Z',
  ]);
});
