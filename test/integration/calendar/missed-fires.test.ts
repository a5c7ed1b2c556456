import { afterAll, expect, it } from 'vitest';
import { eventually } from '../client.ts';
import { quickDelivery, statusWhen } from '../delivery/scene.ts';
import { deliveryWorld } from '../delivery/world.ts';
import { type RestartableCloud, restartableCloud } from '../restartable.ts';

/**
 * `npm start` stopped over a schedule's fire, then started again on the same data folder: the
 * local Scheduler delivers the latest missed fire once, with its scheduled time, and the fire
 * deploys if that is still inside the schedule's flexible window, and is recorded as missed if not.
 */
let local: RestartableCloud | undefined;
afterAll(() => local?.dispose());

/** Hourly at the minute that was `minutesAgo` minutes ago, in UTC: its latest fire is that long past. */
const hourlyAt = (minutesAgo: number) => `${new Date(Date.now() - minutesAgo * 60_000).getUTCMinutes()} * * * *`;

it('a restart delivers a missed fire: deployed inside its flexible window, recorded as missed outside it', async () => {
  local = await restartableCloud('missed', quickDelivery);
  let cloud = await local.start({ schedulerNow: new Date(Date.now() - 2 * 3600_000) });
  const world = await deliveryWorld(cloud);
  const schedule = async (cron: string, image: string) => {
    const reply = await world.developer.post('/api/v1/schedules', {
      app_id: world.app.id,
      env: 'dev',
      name: `hourly ${image}`,
      action: { type: 'deploy', image },
      cron,
      timezone: 'UTC',
      flexible_window_minutes: 10,
    });
    expect(reply.status, reply.text).toBe(201);
    return reply.body.id as string;
  };
  const inside = await schedule(hourlyAt(2), '4.0.0');
  const outside = await schedule(hourlyAt(30), '4.0.1');
  await cloud.stop();

  cloud = await local.start();
  const fireOf = (id: string) =>
    eventually(async () => {
      const { body } = await world.developer.get(`/api/v1/schedules/${id}/fires`);
      expect(body.items).toHaveLength(1);
      return body.items[0];
    }, 20_000);

  const deployed = await fireOf(inside);
  expect(deployed).toMatchObject({ outcome: 'deployed' });
  expect((await statusWhen(world.developer, deployed.deployment_id)).state).toBe('succeeded');

  const missed = await fireOf(outside);
  expect(missed).toMatchObject({ outcome: 'missed', reason: expect.stringMatching(/outside its flexible window/) });
  expect(Date.now() - Date.parse(missed.fire_time)).toBeGreaterThan(11 * 60_000);
  const { body: made } = await world.developer.get(`/api/v1/deployments?app_id=${world.app.id}&env=dev`);
  expect(made.items.map((d: { id: string }) => d.id)).toEqual([deployed.deployment_id]);
  // Two starts of the whole cloud and a rollout.
}, 90_000);
