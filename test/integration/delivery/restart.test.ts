import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../../infra/local/cloud.ts';
import { freePort } from '../../../infra/local/ports.ts';
import { deploy, quickDelivery, statusWhen } from './scene.ts';
import { deliveryWorld } from './world.ts';

/**
 * `npm start` stopped while a deployment runs, then started again on the same data folder: the
 * execution is aborted by the restart, and its deployment ends as failed with its lock freed.
 */
let dataDir: string;
let cloud: LocalCloud | undefined;
afterAll(async () => {
  await cloud?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('a restart ends the deployments that were running and frees their environments', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'slipway-restart-'));
  const options = {
    // Fixed ports, as under npm start: clients, and the SDK clients the functions created at
    // import (this process imported them once), keep talking to the same addresses.
    port: await freePort(),
    awsPort: await freePort(),
    dataDir,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `slipway-test-${randomUUID().slice(0, 8)}`,
    quiet: true,
    ...quickDelivery,
    // The cluster keeps its address, CA and token across the restart, as under npm start.
    kubernetes: { ...quickDelivery.kubernetes, port: await freePort() },
  };
  cloud = await startLocalCloud(options);
  const world = await deliveryWorld(cloud);
  const hung = await deploy(world.developer, world.app.id, {
    env: 'dev',
    image: 'hang',
    progress_deadline_seconds: 3600,
  });
  await statusWhen(world.developer, hung.body.id, (s) => s.state === 'rolling_out');
  await cloud.stop();

  cloud = await startLocalCloud(options);
  const ended = await statusWhen(world.developer, hung.body.id);
  expect(ended).toMatchObject({ state: 'failed', reason: expect.stringMatching(/ABORTED.*restarted/) });
  const next = await deploy(world.developer, world.app.id, { env: 'dev', image: '2.0.0' });
  expect((await statusWhen(world.developer, next.body.id)).state).toBe('succeeded');
});
