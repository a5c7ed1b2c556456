import { GetScheduleCommand, ResourceNotFoundException, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULE_GROUP } from '../../../infra/local/services.ts';
import type { FireRequest } from '../../../shared/calendar/fires.ts';
import type { FireView } from '../../../shared/domain/schedule.ts';
import { type Receiver, startReceiver } from '../../unit/notify/receiver.ts';
import { type Client, client, eventually } from '../client.ts';
import { deploy, type Scene, slackChannelAt, startScene, statusWhen, stepNames } from '../delivery/scene.ts';

/**
 * Schedules through the HTTP API, fired by the local Scheduler on a moved clock, or through the
 * fire use case itself (what the schedule-fire function runs) as Scheduler would deliver them: a
 * fire acts as the schedule's owner, through approvals, once per (schedule, fire time).
 */
let scene: Scene;
let chat: Receiver;
let fire: (request: FireRequest, now?: Date) => Promise<FireView | undefined>;
let owners = 0;

beforeAll(async () => {
  chat = await startReceiver();
  scene = await startScene({ chat: slackChannelAt(chat.url) });
  // Imported once the cloud has set this worker's environment (the table, the endpoints).
  fire = (await import('../../../shared/calendar/fires.ts')).fireSchedule;
});
afterAll(async () => {
  await scene?.cloud.stop();
  await chat?.close();
});

const inMinutes = (n: number) => new Date(Math.ceil(Date.now() / 60_000) * 60_000 + n * 60_000).toISOString();

/** A developer of the scene's project of their own, and the binding that makes them one. */
async function owner(): Promise<{ api: Client; sub: string; bindingId: string }> {
  const sub = `scheduler-${process.pid}-${++owners}`;
  const api = client(scene.cloud.url, await scene.cloud.mintToken({ sub }));
  expect((await api.get('/api/v1/users/me')).status).toBe(200);
  const binding = await scene.admin.post('/api/v1/roles/bind', {
    role: 'developer',
    subject: { kind: 'user', id: sub },
    scope: { kind: 'project', project_id: scene.project.id },
  });
  expect(binding.status).toBe(201);
  return { api, sub, bindingId: binding.body.id };
}

async function schedule(api: Client, body: Record<string, unknown>) {
  const reply = await api.post('/api/v1/schedules', { app_id: scene.app.id, name: 'nightly', ...body });
  expect(reply.status, reply.text).toBe(201);
  return reply.body;
}

describe('the Scheduler kept in step', () => {
  it('has one Scheduler schedule per schedule: its cron in its zone, paused with it, deleted with it', async () => {
    const { api } = await owner();
    const created = await schedule(api, {
      env: 'dev',
      action: { type: 'deploy', image: '3.0.0' },
      cron: '30 2 * * 1-5',
      timezone: 'America/New_York',
      flexible_window_minutes: 10,
    });
    const scheduler = new SchedulerClient({});
    const read = () => scheduler.send(new GetScheduleCommand({ Name: created.id, GroupName: SCHEDULE_GROUP }));
    expect(await read()).toMatchObject({
      ScheduleExpression: 'cron(30 2 ? * MON,TUE,WED,THU,FRI *)',
      ScheduleExpressionTimezone: 'America/New_York',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 10 },
      State: 'ENABLED',
      Target: { Input: JSON.stringify({ schedule_id: created.id, fire_time: '<aws.scheduler.scheduled-time>' }) },
    });

    const path = `/api/v1/schedules/${created.id}`;
    const paused = await api.patch(path, { enabled: false }, { 'if-match': `"v${created.version}"` });
    expect(paused.status, paused.text).toBe(200);
    expect(paused.body.next_fires).toEqual([]);
    expect((await read()).State).toBe('DISABLED');

    const gone = await api.delete(path, { 'if-match': paused.headers.get('etag') ?? '' });
    expect(gone.status).toBe(204);
    await expect(read()).rejects.toBeInstanceOf(ResourceNotFoundException);
    scheduler.destroy();
  });
});

describe('who may schedule', () => {
  it('needs what the action needs: a developer of prod alone may schedule a deploy there, not a promotion from dev', async () => {
    const sub = `prod-only-${process.pid}-${++owners}`;
    const api = client(scene.cloud.url, await scene.cloud.mintToken({ sub }));
    expect((await api.get('/api/v1/users/me')).status).toBe(200);
    const bound = await scene.admin.post('/api/v1/roles/bind', {
      role: 'developer',
      subject: { kind: 'user', id: sub },
      scope: { kind: 'env', app_id: scene.app.id, env: 'prod' },
    });
    expect(bound.status).toBe(201);
    const body = { app_id: scene.app.id, env: 'prod', name: 'promote', at: inMinutes(60) };
    const promote = await api.post('/api/v1/schedules', { ...body, action: { type: 'promote', from: 'dev' } });
    expect(promote.status, promote.text).toBe(403);
    expect(promote.body.detail).toMatch(/env\.read/);
    const elsewhere = await api.post('/api/v1/schedules', {
      ...body,
      env: 'dev',
      action: { type: 'deploy', image: '1.0.0' },
    });
    // dev is not theirs to see at all: 404, as a deploy there would answer.
    expect(elsewhere.status).toBe(404);
    const deploy = await api.post('/api/v1/schedules', { ...body, action: { type: 'deploy', image: '1.0.0' } });
    expect(deploy.status, deploy.text).toBe(201);
    expect((await api.get(`/api/v1/schedules/${deploy.body.id}`)).status).toBe(200);
  });
});

describe('a fire delivered twice', () => {
  it('makes one deployment from two fires for the same instant', async () => {
    const { api } = await owner();
    const at = inMinutes(4);
    const created = await schedule(api, { env: 'dev', action: { type: 'deploy', image: '2.0.1' }, at });
    const now = new Date(Date.parse(at) + 1_000);
    const both = await Promise.all([
      fire({ schedule_id: created.id, fire_time: at }, now),
      fire({ schedule_id: created.id, fire_time: at.replace('.000Z', 'Z') }, now),
    ]);
    expect(both[0]?.deployment_id).toBeDefined();
    expect(both[1]?.deployment_id).toBe(both[0]?.deployment_id);
    // A retry long after finds the fire recorded.
    expect((await fire({ schedule_id: created.id, fire_time: at }))?.deployment_id).toBe(both[0]?.deployment_id);
    const deployments = await api.get(`/api/v1/deployments?app_id=${scene.app.id}&env=dev`);
    const made = deployments.body.items.filter(
      (d: { origin?: { schedule_id: string } }) => d.origin?.schedule_id === created.id,
    );
    expect(made).toHaveLength(1);
    expect((await api.get(`/api/v1/schedules/${created.id}/fires`)).body.items).toHaveLength(1);
  });
});

describe('a fire that makes no deployment', () => {
  it("fails with the reason and a chat notice when the owner's binding was revoked", async () => {
    const { api, bindingId } = await owner();
    const created = await schedule(api, {
      env: 'dev',
      action: { type: 'rollback' },
      cron: '0 2 * * *',
      timezone: 'Europe/Berlin',
    });
    expect(created.next_fires).toHaveLength(5);
    expect(created.next_fires[0].local).toMatch(/T02:00:00\+0[12]:00$/);
    expect((await scene.admin.delete(`/api/v1/bindings/${bindingId}`)).status).toBe(204);

    const due = created.next_fires[0].at;
    const fired = await fire({ schedule_id: created.id, fire_time: due }, new Date(Date.parse(due) + 2_000));
    expect(fired).toMatchObject({ outcome: 'failed' });
    expect(fired?.reason).toMatch(/may no longer rollback in dev \(rollback\.create\)/);
    expect(fired?.deployment_id).toBeUndefined();
    const history = await scene.admin.get(`/api/v1/schedules/${created.id}/fires`);
    expect(history.body.items).toEqual([expect.objectContaining({ fire_time: due, outcome: 'failed' })]);
    // A recurring schedule stays active for its next fire.
    expect((await scene.admin.get(`/api/v1/schedules/${created.id}`)).body.state).toBe('active');
    await eventually(async () => {
      const posted = chat.requests.map((r) => JSON.stringify(r.json)).find((body) => body.includes(created.id));
      expect(posted).toMatch(/failed/);
      expect(posted).toMatch(/may no longer rollback/);
    });
  });

  it('fails when its owner is no longer a user', async () => {
    const { api, sub } = await owner();
    const at = inMinutes(3);
    const created = await schedule(api, { env: 'dev', action: { type: 'deploy', image: '2.0.4' }, at });
    // There is no route that removes a user: the directory sync that would is played by the store itself.
    const { commit } = await import('../../../shared/store/table.ts');
    const { keys } = await import('../../../shared/store/keys.ts');
    await commit([{ delete: keys.user(sub), onFail: () => new Error('gone') as never }]);
    const fired = await fire({ schedule_id: created.id, fire_time: at }, new Date(Date.parse(at)));
    expect(fired).toMatchObject({ outcome: 'failed', reason: `its owner ${sub} is no longer a user` });
    expect((await scene.admin.get(`/api/v1/deployments?app_id=${scene.app.id}&env=dev`)).body.items).not.toContainEqual(
      expect.objectContaining({ origin: expect.objectContaining({ schedule_id: created.id }) }),
    );
  });

  it('records a fire that came after its flexible window as missed, and acts on none', async () => {
    const { api } = await owner();
    const at = inMinutes(2);
    const created = await schedule(api, {
      env: 'dev',
      action: { type: 'deploy', image: '2.0.2' },
      at,
      flexible_window_minutes: 5,
    });
    // Inside the window (and its minute of grace): it would deploy; after it: missed.
    const late = new Date(Date.parse(at) + 6 * 60_000 + 1_000);
    const fired = await fire({ schedule_id: created.id, fire_time: at }, late);
    expect(fired).toMatchObject({ outcome: 'missed' });
    expect(fired?.reason).toMatch(/outside its flexible window/);
    expect((await api.get(`/api/v1/schedules/${created.id}`)).body).toMatchObject({
      state: 'completed',
      last_fire: { outcome: 'missed' },
    });
  });

  it('does nothing for a paused schedule', async () => {
    const { api } = await owner();
    const at = inMinutes(2);
    const created = await schedule(api, { env: 'dev', action: { type: 'deploy', image: '2.0.3' }, at, enabled: false });
    expect(created.next_fires).toEqual([]);
    expect(await fire({ schedule_id: created.id, fire_time: at }, new Date(Date.parse(at)))).toBeUndefined();
    expect((await api.get(`/api/v1/schedules/${created.id}/fires`)).body.items).toEqual([]);
  });
});

describe('a fire goes where a deploy goes', () => {
  it('is refused by a freeze in force, recorded as failed with the freeze named, and deploys nothing', async () => {
    const { api } = await owner();
    const at = inMinutes(2);
    const created = await schedule(api, { env: 'dev', action: { type: 'deploy', image: '2.1.0' }, at });
    const freeze = await scene.admin.post('/api/v1/freezes', {
      scope: { app_id: scene.app.id, env: 'dev' },
      name: 'Launch week',
      window: {
        kind: 'one_off',
        starts_at: new Date(Date.now() - 60_000).toISOString(),
        ends_at: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    expect(freeze.status, freeze.text).toBe(201);
    try {
      const fired = await fire({ schedule_id: created.id, fire_time: at }, new Date(Date.parse(at) + 1_000));
      expect(fired).toMatchObject({ outcome: 'failed' });
      expect(fired?.deployment_id).toBeUndefined();
      expect(fired?.reason).toMatch(/^frozen: .*Launch week/);
    } finally {
      // In force: only a holder of freeze.override (the admin) may delete it.
      const removed = await scene.admin.delete(`/api/v1/freezes/${freeze.body.id}`, {
        'if-match': freeze.headers.get('etag') as string,
      });
      expect(removed.status, removed.text).toBe(204);
    }
    const deployments = await api.get(`/api/v1/deployments?app_id=${scene.app.id}&env=dev`);
    expect(
      deployments.body.items.some((d: { origin?: { schedule_id: string } }) => d.origin?.schedule_id === created.id),
    ).toBe(false);
  });

  it('promotes exactly what runs in the source environment: the same digest, through approval', async () => {
    const { api } = await owner();
    const first = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '2.2.0', replicas: 2 });
    expect((await statusWhen(scene.developer, first.body.id)).state).toBe('succeeded');
    const dev = (await api.get(`/api/v1/apps/${scene.app.id}/envs/dev`)).body.current_release;
    expect(dev.digest).toMatch(/^sha256:[a-f0-9]{64}$/);

    const at = inMinutes(2);
    const created = await schedule(api, { env: 'prod', action: { type: 'promote', from: 'dev' }, at });
    const fired = await fire({ schedule_id: created.id, fire_time: at }, new Date(Date.parse(at) + 1_000));
    expect(fired).toMatchObject({ outcome: 'deployed' });
    const promoted = (await api.get(`/api/v1/deployments/${fired?.deployment_id}`)).body;
    expect(promoted).toMatchObject({
      env: 'prod',
      image: `registry.example.com/shop/api@${dev.digest}`,
      replicas: 2,
      origin: { kind: 'schedule', schedule_id: created.id, fire_time: at },
    });
    await statusWhen(api, promoted.id, (s) => s.state === 'waiting_for_approval');
    // Leave prod free for the last test.
    const cancelled = await api.post(`/api/v1/deployments/${promoted.id}/cancel`, {});
    expect(cancelled.status, cancelled.text).toBe(200);
  });
});

// Last: it moves Scheduler's clock minutes ahead, past the instants the tests above schedule.
describe('a one-time scheduled deploy', () => {
  it('fires at its instant as its owner, waits for approval like any deploy, and is then done', async () => {
    const { api, sub } = await owner();
    const at = inMinutes(3);
    const created = await schedule(api, { env: 'prod', action: { type: 'deploy', image: '2.0.0' }, at });
    expect(created).toMatchObject({ owner: sub, state: 'active', enabled: true, next_fires: [{ at, local: at }] });

    // Scheduler's clock moves to the instant; it invokes schedule-fire with the scheduled time.
    await scene.cloud.services.scheduler.setNow(new Date(Date.parse(at) + 1_000));
    await scene.cloud.services.scheduler.drained();
    const fired = await eventually(async () => {
      const { body } = await api.get(`/api/v1/schedules/${created.id}/fires`);
      expect(body.items).toHaveLength(1);
      return body.items[0];
    });
    expect(fired).toMatchObject({ fire_time: at, outcome: 'deployed' });
    const deploymentId = fired.deployment_id as string;

    const waiting = await statusWhen(api, deploymentId, (s) => s.state === 'waiting_for_approval');
    const { body: deployment } = await api.get(`/api/v1/deployments/${deploymentId}`);
    expect(deployment).toMatchObject({
      requested_by: sub,
      image: 'registry.example.com/shop/api:2.0.0',
      origin: { kind: 'schedule', schedule_id: created.id, fire_time: at },
    });
    const approvalId = (waiting.approval as { id: string }).id;
    expect((await scene.approvers[0].post(`/api/v1/approvals/${approvalId}/approve`, {})).status).toBe(200);
    const done = await statusWhen(api, deploymentId);
    expect(stepNames(done)).toEqual(['queued', 'waiting_for_approval', 'applying', 'rolling_out', 'succeeded']);

    const after = await api.get(`/api/v1/schedules/${created.id}`);
    expect(after.body).toMatchObject({ state: 'completed', next_fires: [], last_fire: { outcome: 'deployed' } });
  });
});
