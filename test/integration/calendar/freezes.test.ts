import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchFreezes } from '../../../shared/calendar/freeze-watch.ts';
import { type Receiver, startReceiver } from '../../unit/notify/receiver.ts';
import { type Client, client, eventually } from '../client.ts';
import { deploy, type Scene, slackChannelAt, startScene, statusWhen, stepNames } from '../delivery/scene.ts';

/**
 * Freeze windows end to end: a deploy refused during one (409 `frozen`), rollbacks passing it,
 * overrides by admins only (in the deployment, the audit log and chat), a deployment that waited
 * into a freeze failing at the apply and freeing its environment (ADR 25), freezes in force kept
 * from edits, and freeze-watch telling each window once.
 */
let scene: Scene;
let chat: Receiver;
let maintainer: Client;
let projectAdmin: Client;

const minutes = (n: number) => new Date(Date.now() + n * 60_000).toISOString();
/** A one-off window in force now, for an hour. */
const inForce = () => ({ kind: 'one_off', starts_at: minutes(-1), ends_at: minutes(60) });
let envs = 0;

beforeAll(async () => {
  chat = await startReceiver();
  scene = await startScene({ chat: slackChannelAt(chat.url) });
  maintainer = await member('mt-erin', 'maintainer');
  projectAdmin = await member('pa-dana', 'admin');
});
afterAll(async () => {
  await scene?.cloud.stop();
  await chat?.close();
});

async function member(sub: string, role: string): Promise<Client> {
  const api = client(scene.cloud.url, await scene.cloud.mintToken({ sub }));
  await api.get('/api/v1/users/me');
  const bound = await scene.admin.post('/api/v1/roles/bind', {
    role,
    subject: { kind: 'user', id: sub },
    scope: { kind: 'project', project_id: scene.project.id },
  });
  expect(bound.status).toBe(201);
  return api;
}

/** A fresh environment of the scene's app on the simulated cluster (its own freezes, lock and releases). */
async function freshEnv(protection?: Record<string, unknown>): Promise<string> {
  const name = `frz-${++envs}`;
  const reply = await scene.admin.post(`/api/v1/apps/${scene.app.id}/envs`, {
    name,
    cluster_id: scene.cluster.id,
    namespace: `shop-${name}-${process.pid}`,
    ...(protection ? { protection } : {}),
  });
  expect(reply.status, reply.text).toBe(201);
  return name;
}

async function freeze(api: Client, env: string, extra: Record<string, unknown> = {}) {
  const reply = await api.post('/api/v1/freezes', {
    scope: { app_id: scene.app.id, env },
    name: `Freeze of ${env}`,
    window: inForce(),
    ...extra,
  });
  expect(reply.status, reply.text).toBe(201);
  return reply.body;
}

async function deployed(env: string, image: string) {
  const reply = await deploy(scene.developer, scene.app.id, { env, image });
  expect(reply.status, reply.text).toBe(202);
  expect((await statusWhen(scene.developer, reply.body.id)).state).toBe('succeeded');
  return reply.body.id as string;
}

const deploymentsOf = async (env: string) =>
  (await scene.admin.get(`/api/v1/deployments?app_id=${scene.app.id}&env=${env}&limit=100`)).body.items;

const chatSaying = (needle: string) =>
  eventually(async () => {
    const found = chat.requests.map((r) => JSON.stringify(r.json)).filter((text) => text.includes(needle));
    if (found.length === 0) throw new Error(`no chat message with ${needle} yet`);
    return found;
  }, 15_000);

describe('a deploy during a freeze', () => {
  it('is refused at request time with 409 frozen, naming the freeze and when it ends, and nothing is queued', async () => {
    const env = await freshEnv();
    const window = await freeze(maintainer, env);
    expect(window.active).toEqual({ starts_at: window.window.starts_at, ends_at: window.window.ends_at });

    const refused = await deploy(scene.developer, scene.app.id, { env, image: '1.0.0' });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('https://slipway.dev/problems/frozen');
    expect(refused.body.freeze).toEqual({ id: window.id, name: window.name, ends_at: window.window.ends_at });
    expect(refused.body.detail).toContain(window.window.ends_at);
    expect(await deploymentsOf(env)).toEqual([]);
  });

  it('covers every environment inside a project freeze, until it is lifted', async () => {
    const env = await freshEnv();
    const projectFreeze = await scene.admin.post('/api/v1/freezes', {
      scope: { project_id: scene.project.id },
      name: 'Project freeze',
      window: inForce(),
    });
    expect(projectFreeze.status).toBe(201);
    expect(projectFreeze.body.scope).toBe(`project/${scene.project.id}`);
    expect((await deploy(scene.developer, scene.app.id, { env, image: '1.0.0' })).status).toBe(409);
    const lifted = await scene.admin.delete(`/api/v1/freezes/${projectFreeze.body.id}`, { 'if-match': '"v1"' });
    expect(lifted.status).toBe(204);
    expect((await deploy(scene.developer, scene.app.id, { env, image: '1.0.0' })).status).toBe(202);
  });

  it('lets rollbacks through by default, and refuses them under a freeze that says so', async () => {
    const env = await freshEnv();
    await deployed(env, '1.0.0');
    await deployed(env, '1.1.0');
    await freeze(maintainer, env);
    const rollback = await scene.developer.post('/api/v1/rollbacks', { app_id: scene.app.id, env });
    expect(rollback.status, rollback.text).toBe(202);
    expect((await statusWhen(scene.developer, rollback.body.id)).state).toBe('succeeded');

    const strict = await freeze(maintainer, env, { name: 'No rollbacks either', allow_rollbacks: false });
    const refused = await scene.developer.post('/api/v1/rollbacks', { app_id: scene.app.id, env });
    expect(refused.status).toBe(409);
    expect(refused.body.freeze.id).toBe(strict.id);
  });
});

describe('an override', () => {
  it('is refused without freeze.override (403), and without a reason (400); nothing is queued', async () => {
    const env = await freshEnv();
    await freeze(maintainer, env);
    const override = { reason: 'hotfix for the checkout outage' };
    for (const api of [scene.developer, maintainer]) {
      const refused = await deploy(api, scene.app.id, { env, image: '1.0.0', override_freeze: override });
      expect(refused.status, refused.text).toBe(403);
      expect(refused.body.detail).toContain('freeze.override');
    }
    const noReason = await deploy(projectAdmin, scene.app.id, { env, image: '1.0.0', override_freeze: {} });
    expect(noReason.status).toBe(400);
    expect(noReason.body.invalid_params.map((p: { name: string }) => p.name)).toContain('override_freeze.reason');
    expect(await deploymentsOf(env)).toEqual([]);
  });

  it('by an admin goes ahead, and is in the deployment, the audit log and chat', async () => {
    const env = await freshEnv();
    const window = await freeze(maintainer, env);
    const reason = 'hotfix for the checkout outage';
    const reply = await deploy(projectAdmin, scene.app.id, { env, image: '2.0.1', override_freeze: { reason } });
    expect(reply.status, reply.text).toBe(202);
    const override = {
      reason,
      by: 'pa-dana',
      freeze: { id: window.id, name: window.name, ends_at: window.window.ends_at },
    };
    expect(reply.body.freeze_override).toEqual(override);
    expect((await statusWhen(projectAdmin, reply.body.id)).state).toBe('succeeded');
    expect((await scene.admin.get(`/api/v1/deployments/${reply.body.id}`)).body.freeze_override).toEqual(override);

    const audit = await eventually(async () => {
      const entries = (await scene.admin.get(`/api/v1/audit?subject=freeze/${window.id}`)).body.items;
      const found = entries.find((e: { type: string }) => e.type === 'Freeze Overridden');
      if (!found) throw new Error('no override in the audit log yet');
      return found;
    }, 15_000);
    expect(audit).toMatchObject({
      actor: 'pa-dana',
      data: { action: 'deploy', reason, by: 'pa-dana', deployment_id: reply.body.id, freeze: { id: window.id } },
    });

    const [overridden] = await chatSaying(`Freeze overridden: ${window.name}`);
    expect(overridden).toContain(reason);
    expect(overridden).toContain('pa-dana');
    // The deployment's own messages say it went past a freeze.
    await chatSaying(`Freeze override past ${window.name} by pa-dana: ${reason}`);
  });
});

describe('a deployment that waited into a freeze', () => {
  it('fails frozen just before the apply, applies nothing, and frees its environment', async () => {
    const env = await freshEnv({
      requires_approval: true,
      approver_teams: [scene.team.id],
      minimum_approvals: 1,
      prevent_self_approval: true,
      approval_timeout_minutes: 60,
    });
    const waiting = await deploy(scene.developer, scene.app.id, { env, image: '3.0.0' });
    expect(waiting.status).toBe(202);
    const gate = await statusWhen(scene.developer, waiting.body.id, (s) => s.state === 'waiting_for_approval');
    // The freeze begins while the deployment waits for its approver.
    const window = await freeze(maintainer, env);
    const approved = await scene.approvers[0].post(
      `/api/v1/approvals/${(gate.approval as { id: string }).id}/approve`,
      {
        comment: 'ok',
      },
    );
    expect(approved.status).toBe(200);

    const ended = await statusWhen(scene.developer, waiting.body.id);
    expect(ended.state).toBe('failed');
    expect(ended.reason).toContain('frozen');
    expect(ended.reason).toContain(window.name);
    expect(ended.reason).toContain(window.window.ends_at);
    expect(stepNames(ended as never)).not.toContain('applying');

    // The lock went with it: an override takes the environment at once (it reaches the approval gate).
    const next = await deploy(projectAdmin, scene.app.id, { env, image: '3.0.1', override_freeze: { reason: 'go' } });
    expect(next.status).toBe(202);
    await statusWhen(projectAdmin, next.body.id, (s) => s.state === 'waiting_for_approval');
    await scene.admin.post(`/api/v1/deployments/${next.body.id}/cancel`, {});
  });
});

describe('a freeze in force', () => {
  it('cannot be changed or deleted by its maintainers; an admin may, and that is told as an override', async () => {
    const env = await freshEnv();
    const window = await freeze(maintainer, env);
    const path = `/api/v1/freezes/${window.id}`;
    const patched = await maintainer.patch(path, { name: 'Shorter' }, { 'if-match': '"v1"' });
    expect(patched.status).toBe(403);
    expect(patched.body.detail).toContain('freeze.override');
    expect((await maintainer.delete(path, { 'if-match': '"v1"' })).status).toBe(403);
    expect((await maintainer.get(path)).body.name).toBe(window.name);

    const edited = await projectAdmin.patch(
      path,
      { window: { ...window.window, ends_at: minutes(30) } },
      {
        'if-match': '"v1"',
      },
    );
    expect(edited.status, edited.text).toBe(200);
    expect(edited.body.version).toBe(2);
    const told = await chatSaying(`Freeze overridden: ${window.name}`);
    expect(told.some((m) => m.includes('changed the freeze while it is in force'))).toBe(true);
  });

  it('a freeze not yet in force changes freely, and its window is checked', async () => {
    const env = await freshEnv();
    const later = { kind: 'one_off', starts_at: minutes(600), ends_at: minutes(660) };
    const window = await freeze(maintainer, env, { window: later });
    expect(window.active).toBeNull();
    expect(window.next).toEqual({ starts_at: later.starts_at, ends_at: later.ends_at });
    const path = `/api/v1/freezes/${window.id}`;
    expect((await maintainer.patch(path, { name: 'Renamed' }, { 'if-match': '"v1"' })).status).toBe(200);
    const backwards = await maintainer.patch(
      path,
      { window: { ...later, ends_at: minutes(500) } },
      { 'if-match': '"v2"' },
    );
    expect(backwards.status).toBe(400);
    expect((await deploy(scene.developer, scene.app.id, { env, image: '1.0.0' })).status).toBe(202);
  });
});

describe('freeze-watch', () => {
  it('tells a window starting and ending once each, in chat', async () => {
    const env = await freshEnv();
    const window = await freeze(scene.admin, env, { name: `Watched ${process.pid}` });
    const tick = () => scene.cloud.services.tick('freeze-watch') as Promise<{ started: string[]; ended: string[] }>;
    expect((await tick()).started).toContain(window.id);
    const again = await tick();
    expect(again.started).not.toContain(window.id);
    expect(again.ended).not.toContain(window.id);

    // The admin ends it early (over: it leaves the rules).
    const over = { kind: 'one_off', starts_at: minutes(-120), ends_at: minutes(-60) };
    const ended = await scene.admin.patch(`/api/v1/freezes/${window.id}`, { window: over }, { 'if-match': '"v1"' });
    expect(ended.status, ended.text).toBe(200);
    expect((await tick()).ended).toContain(window.id);
    expect((await tick()).ended).not.toContain(window.id);

    await chatSaying(`Freeze started: ${window.name}`);
    await chatSaying(`Freeze ended: ${window.name}`);
  });
});

describe('a platform freeze', () => {
  it('is managed by platform admins only, and every bound user sees it', async () => {
    const later = { kind: 'one_off', starts_at: minutes(600), ends_at: minutes(660) };
    const body = { scope: 'platform', name: 'Platform maintenance', window: later };
    expect((await projectAdmin.post('/api/v1/freezes', body)).status).toBe(403);
    const created = await scene.admin.post('/api/v1/freezes', body);
    expect(created.status, created.text).toBe(201);
    expect(created.body.scope).toBe('platform');
    const read = await scene.developer.get(`/api/v1/freezes/${created.body.id}`);
    expect(read.status, read.text).toBe(200);
    const listed = (await scene.developer.get('/api/v1/freezes?limit=100')).body.items.map((f: { id: string }) => f.id);
    expect(listed).toContain(created.body.id);
    expect((await maintainer.delete(`/api/v1/freezes/${created.body.id}`, { 'if-match': '"v1"' })).status).toBe(403);
  });
});

describe('freeze-watch on overlapping recurrences', () => {
  it('tells a freeze that never opens once, though the interval holding it changes', async () => {
    const env = await freshEnv();
    // Every 5 minutes for 10: always frozen, by a new interval every 5 minutes.
    const always = { kind: 'recurring', cron: '*/5 * * * *', timezone: 'UTC', duration_minutes: 10 };
    const window = await freeze(scene.admin, env, { name: `Always ${process.pid}`, window: always });
    const t0 = Date.now();
    const at = (minutesLater: number) => watchFreezes(new Date(t0 + minutesLater * 60_000));
    expect((await at(0)).started).toContain(window.id);
    for (const later of [6, 12]) {
      const tick = await at(later);
      expect(tick.started).not.toContain(window.id);
      expect(tick.ended).not.toContain(window.id);
    }
    const lifted = await scene.admin.delete(`/api/v1/freezes/${window.id}`, { 'if-match': '"v1"' });
    expect(lifted.status).toBe(204);
    expect((await at(13)).ended).toContain(window.id);
  });
});
