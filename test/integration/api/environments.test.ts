import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendarIndexes, calendarKeys } from '../../../shared/calendar/keys.ts';
import { nextFires } from '../../../shared/domain/calendar.ts';
import { commit, type Item } from '../../../shared/store/table.ts';
import { type Client, client } from '../client.ts';
import type { TestCloud } from '../harness.ts';
import { adminSession, bodies, create, unique } from '../seed.ts';

/**
 * `GET /environments`: every environment a caller may read, across apps, with its calendar. The
 * schedule and freeze records are written here as their slices store them (the design contract),
 * to show the rows carry them.
 */
let cloud: TestCloud;
let admin: Client;
const as = async (sub: string) => {
  const api = client(cloud.url, await cloud.mintToken({ sub }));
  expect((await api.get('/api/v1/users/me')).status).toBe(200);
  return api;
};

// Project A: app a1 (dev, staging, prod on c1) and app a2 (prod on c2). Project B: app b1 (qa on c1).
let projectA: { id: string };
let projectB: { id: string };
let a1: { id: string; name: string };
let a2: { id: string; name: string };
let b1: { id: string; name: string };
let c1: { id: string; name: string };
let c2: { id: string; name: string };

const put = (item: Item) => commit([{ put: item, onFail: () => new Error('put failed') as never }]);
const hour = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  ({ cloud, admin } = await adminSession({ delivery: { deliverEvents: false } }));
  projectA = await create(admin, '/api/v1/projects', bodies.project());
  projectB = await create(admin, '/api/v1/projects', bodies.project());
  c1 = await create(admin, '/api/v1/clusters', bodies.cluster());
  c2 = await create(admin, '/api/v1/clusters', bodies.cluster());
  a1 = await create(admin, '/api/v1/apps', bodies.app(projectA.id));
  a2 = await create(admin, '/api/v1/apps', bodies.app(projectA.id));
  b1 = await create(admin, '/api/v1/apps', bodies.app(projectB.id));
  for (const name of ['dev', 'staging', 'prod'])
    await create(admin, `/api/v1/apps/${a1.id}/envs`, bodies.env(c1.id, name));
  await create(admin, `/api/v1/apps/${a2.id}/envs`, { ...bodies.env(c2.id, 'prod'), tier: 'staging' });
  await create(admin, `/api/v1/apps/${b1.id}/envs`, bodies.env(c1.id, 'qa'));
});
afterAll(() => cloud?.stop());

const names = (rows: { app: { id: string }; name: string }[]) => rows.map((r) => `${r.app.id}/${r.name}`);

/** Every row of a list, page after page. */
async function everyRow(api: Client, query: string, limit: number) {
  const rows = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const reply = await api.get(`/api/v1/environments?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(reply.status).toBe(200);
    expect(reply.body.items.length).toBeLessThanOrEqual(limit);
    rows.push(...reply.body.items);
    cursor = reply.body.next_cursor;
    pages++;
  } while (cursor && pages < 20);
  return rows;
}

describe('GET /environments', () => {
  it('lists a project’s environments across its apps, sorted by app and name, with tier, cluster and namespace', async () => {
    const reply = await admin.get(`/api/v1/environments?project_id=${projectA.id}`);
    expect(reply.status).toBe(200);
    const [first, second] = [a1, a2].sort((x, y) => x.id.localeCompare(y.id));
    const expected = [
      ...(first === a1 ? ['dev', 'prod', 'staging'] : ['prod']).map((n) => `${first?.id}/${n}`),
      ...(second === a1 ? ['dev', 'prod', 'staging'] : ['prod']).map((n) => `${second?.id}/${n}`),
    ];
    expect(names(reply.body.items)).toEqual(expected);
    const a1prod = reply.body.items.find(
      (r: { app: { id: string }; name: string }) => r.app.id === a1.id && r.name === 'prod',
    );
    expect(a1prod).toEqual({
      app: { id: a1.id, name: a1.name },
      project_id: projectA.id,
      name: 'prod',
      cluster: { id: c1.id, name: c1.name },
      namespace: 'shop-prod',
      tier: 'production',
      current_release: null,
      active_freeze: null,
      next_freeze: null,
      next_fire: null,
    });
  });

  it('filters by cluster and by tier (a tier given on create wins over the name)', async () => {
    const onC2 = await admin.get(`/api/v1/environments?cluster_id=${c2.id}`);
    expect(names(onC2.body.items)).toEqual([`${a2.id}/prod`]);
    expect(onC2.body.items[0].tier).toBe('staging');

    const production = await admin.get(`/api/v1/environments?project_id=${projectA.id}&tier=production`);
    expect(names(production.body.items)).toEqual([`${a1.id}/prod`]);
    const staging = await admin.get(`/api/v1/environments?project_id=${projectA.id}&tier=staging`);
    expect(names(staging.body.items).sort()).toEqual([`${a1.id}/staging`, `${a2.id}/prod`].sort());

    const qaOnC1 = await admin.get(`/api/v1/environments?cluster_id=${c1.id}&tier=testing`);
    expect(names(qaOnC1.body.items)).toEqual([`${b1.id}/qa`]);
  });

  it('a PATCHed tier moves the environment to that tier, and null infers it from the name again', async () => {
    const path = `/api/v1/apps/${a1.id}/envs/dev`;
    const patched = await admin.patch(path, { tier: 'testing' }, { 'if-match': '"v1"' });
    expect(patched.status).toBe(200);
    expect(patched.body.tier).toBe('testing');
    const testing = await admin.get(`/api/v1/environments?project_id=${projectA.id}&tier=testing`);
    expect(names(testing.body.items)).toEqual([`${a1.id}/dev`]);
    const back = await admin.patch(path, { tier: null }, { 'if-match': '"v2"' });
    expect(back.body.tier).toBe('development');
    expect((await admin.patch(path, { tier: 'prod' }, { 'if-match': '"v3"' })).status).toBe(400);
  });

  it('pages with signed cursors: small pages give the same rows as one, and a cursor serves only its own list', async () => {
    const all = (await admin.get(`/api/v1/environments?project_id=${projectA.id}`)).body.items;
    expect(await everyRow(admin, `project_id=${projectA.id}`, 1)).toEqual(all);
    expect(await everyRow(admin, `project_id=${projectA.id}`, 3)).toEqual(all);
    // With a filter that drops rows, pages are still full until the last.
    expect(names(await everyRow(admin, `project_id=${projectA.id}&tier=staging`, 1)).sort()).toEqual(
      [`${a1.id}/staging`, `${a2.id}/prod`].sort(),
    );

    const first = await admin.get(`/api/v1/environments?project_id=${projectA.id}&limit=1`);
    const cursor = first.body.next_cursor as string;
    const elsewhere = await admin.get(`/api/v1/environments?project_id=${projectB.id}&cursor=${cursor}`);
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.type).toMatch(/invalid-cursor$/);
  });

  it('shows a reader only the environments they can read, and a stranger none', async () => {
    const appReader = await as(unique('vic'));
    const envReader = await as(unique('wes'));
    const stranger = await as(unique('xena'));
    const subOf = async (api: Client) => (await api.get('/api/v1/users/me')).body.id as string;
    await create(admin, '/api/v1/roles/bind', {
      role: 'viewer',
      subject: { kind: 'user', id: await subOf(appReader) },
      scope: { kind: 'app', app_id: a1.id },
    });
    await create(admin, '/api/v1/roles/bind', {
      role: 'viewer',
      subject: { kind: 'user', id: await subOf(envReader) },
      scope: { kind: 'env', app_id: b1.id, env: 'qa' },
    });

    const ofApp = await appReader.get('/api/v1/environments');
    expect(names(ofApp.body.items)).toEqual(['dev', 'prod', 'staging'].map((n) => `${a1.id}/${n}`));
    expect(names((await appReader.get(`/api/v1/environments?project_id=${projectB.id}`)).body.items)).toEqual([]);
    expect(names((await appReader.get(`/api/v1/environments?cluster_id=${c2.id}`)).body.items)).toEqual([]);
    expect(names(await everyRow(appReader, 'tier=production', 1))).toEqual([`${a1.id}/prod`]);

    expect(names((await envReader.get('/api/v1/environments')).body.items)).toEqual([`${b1.id}/qa`]);

    // Grants in two projects are two ranges of the index: pages run across both, in order, once each.
    const both = await as(unique('yuri'));
    for (const scope of [
      { kind: 'app', app_id: a1.id },
      { kind: 'env', app_id: b1.id, env: 'qa' },
    ]) {
      await create(admin, '/api/v1/roles/bind', {
        role: 'viewer',
        subject: { kind: 'user', id: await subOf(both) },
        scope,
      });
    }
    const expected = [...['dev', 'prod', 'staging'].map((n) => `${a1.id}/${n}`), `${b1.id}/qa`];
    const inOrder = projectA.id < projectB.id ? expected : [expected[3], ...expected.slice(0, 3)];
    expect(names(await everyRow(both, 'x=1', 1))).toEqual(inOrder);
    expect(names(await everyRow(both, 'x=1', 2))).toEqual(inOrder);
    expect((await stranger.get('/api/v1/environments')).body).toEqual({ items: [], next_cursor: null });
  });

  it('reads the rows of a full page even past BatchGetItem’s 100 keys', async () => {
    // A full page of one app's 100 rows needs 103 distinct keys: 100 release heads, the app, the cluster, the freeze rules.
    const many = await create(admin, '/api/v1/apps', bodies.app(projectB.id));
    for (let i = 0; i < 100; i++) await create(admin, `/api/v1/apps/${many.id}/envs`, bodies.env(c2.id, `e${i}`));
    const reply = await admin.get(`/api/v1/environments?project_id=${projectB.id}&cluster_id=${c2.id}&limit=100`);
    expect(reply.status).toBe(200);
    expect(reply.body.items).toHaveLength(100);
    expect(reply.body.items.every((r: { app: { name: string } }) => r.app.name === many.name)).toBe(true);
    // A hundred environments created one by one: ~5 s alone, three times that on a loaded run.
  }, 90_000);

  it('refuses malformed filters with a 400 naming them', async () => {
    for (const query of ['project_id=nope', 'cluster_id=prj_x', 'tier=prod']) {
      const reply = await admin.get(`/api/v1/environments?${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.body.invalid_params?.[0]?.name, query).toBe(query.split('=')[0]);
    }
  });

  it('carries the active and next freeze and the next scheduled fire, as GET of the environment does', async () => {
    const now = Date.now();
    await put({
      ...calendarKeys.freezeRules(),
      version: 1,
      rules: [
        {
          id: 'frz_project',
          name: 'Year-end freeze',
          scope: `project/${projectA.id}`,
          window: { kind: 'one_off', starts_at: iso(now - hour), ends_at: iso(now + hour) },
          allow_rollbacks: true,
        },
        {
          id: 'frz_later',
          name: 'Launch week',
          scope: `project/${projectA.id}/app/${a2.id}`,
          window: { kind: 'one_off', starts_at: iso(now + 24 * hour), ends_at: iso(now + 48 * hour) },
          allow_rollbacks: true,
        },
      ],
    });
    const schedule = (id: string, env: string, fields: Item) => ({
      ...calendarKeys.schedule(id),
      GSI1PK: calendarIndexes.schedulesOfApp(a1.id),
      GSI1SK: `${env}#${id}`,
      GSI2PK: calendarIndexes.schedulesOfProject(projectA.id),
      GSI2SK: id,
      id,
      app_id: a1.id,
      project_id: projectA.id,
      env,
      name: id,
      owner: 'root',
      state: 'active',
      version: 1,
      ...fields,
    });
    const cron = { cron: '0 2 * * 2', timezone: 'Europe/Berlin' };
    await put(schedule('sch_weekly', 'prod', { action: { type: 'promote', from: 'staging' }, ...cron, enabled: true }));
    // Sooner, but paused or done: neither is the next fire.
    await put(
      schedule('sch_paused', 'prod', {
        action: { type: 'deploy', image: '2.0.0' },
        at: iso(now + hour),
        enabled: false,
      }),
    );
    await put(
      schedule('sch_done', 'prod', {
        action: { type: 'rollback' },
        at: iso(now + hour),
        enabled: true,
        state: 'completed',
      }),
    );
    const at = '2031-01-02T03:04:00+01:00';
    await put(schedule('sch_once', 'dev', { action: { type: 'deploy', image: '1.0.0' }, at, enabled: true }));
    // A fire record in the schedule's partition is not a schedule.
    await put({ ...calendarKeys.fire('sch_weekly', iso(now - hour)), fire_time: iso(now - hour), outcome: 'missed' });

    const rows = (await admin.get(`/api/v1/environments?project_id=${projectA.id}`)).body.items;
    const row = (app: { id: string }, name: string) =>
      rows.find((r: { app: { id: string }; name: string }) => r.app.id === app.id && r.name === name);
    const expectedFire = nextFires(cron, new Date(), 1)[0]?.toISOString();
    expect(row(a1, 'prod').active_freeze).toMatchObject({
      freeze_id: 'frz_project',
      name: 'Year-end freeze',
      ends_at: iso(now + hour),
    });
    expect(row(a1, 'prod').next_fire).toMatchObject({ schedule_id: 'sch_weekly', action: 'promote', at: expectedFire });
    expect(row(a1, 'prod').next_fire.local).toMatch(/T02:00:00\+0[12]:00$/);
    expect(row(a1, 'dev').next_fire).toEqual({
      schedule_id: 'sch_once',
      name: 'sch_once',
      action: 'deploy',
      at: new Date(at).toISOString(),
      local: at,
    });
    expect(row(a1, 'staging').next_fire).toBeNull();
    expect(row(a2, 'prod').next_freeze).toMatchObject({ freeze_id: 'frz_later', starts_at: iso(now + 24 * hour) });
    expect(row(a2, 'prod').active_freeze).toMatchObject({ freeze_id: 'frz_project' });

    const env = (await admin.get(`/api/v1/apps/${a1.id}/envs/prod`)).body;
    expect(env.active_freeze).toEqual(row(a1, 'prod').active_freeze);
    expect(env.next_fire).toEqual(row(a1, 'prod').next_fire);
    // Project B is outside both freezes.
    expect((await admin.get(`/api/v1/apps/${b1.id}/envs/qa`)).body).toMatchObject({
      active_freeze: null,
      next_freeze: null,
      next_fire: null,
    });
  });
});
