import { afterAll, expect, it } from 'vitest';
import { type RestartableCloud, restartableCloud } from '../restartable.ts';
import { deploy, quickDelivery, statusWhen } from './scene.ts';
import { deliveryWorld } from './world.ts';

/**
 * `npm start` stopped while a deployment runs, then started again on the same data folder: the
 * execution is aborted by the restart, and its deployment ends as failed with its lock freed.
 */
let local: RestartableCloud | undefined;
afterAll(() => local?.dispose());

it('a restart ends the deployments that were running and frees their environments', async () => {
  local = await restartableCloud('restart', quickDelivery);
  let cloud = await local.start();
  const world = await deliveryWorld(cloud);
  const hung = await deploy(world.developer, world.app.id, {
    env: 'dev',
    image: 'hang',
    progress_deadline_seconds: 3600,
  });
  await statusWhen(world.developer, hung.body.id, (s) => s.state === 'rolling_out');
  await cloud.stop();

  cloud = await local.start();
  const ended = await statusWhen(world.developer, hung.body.id);
  expect(ended).toMatchObject({ state: 'failed', reason: expect.stringMatching(/ABORTED.*restarted/) });
  const next = await deploy(world.developer, world.app.id, { env: 'dev', image: '2.0.0' });
  expect((await statusWhen(world.developer, next.body.id)).state).toBe('succeeded');
});
