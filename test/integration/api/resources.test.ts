import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../../shared/store/keys.ts';
import { type Client, client } from '../client.ts';
import type { TestCloud } from '../harness.ts';
import { adminSession, bodies, create, unique, world } from '../seed.ts';

let cloud: TestCloud;
let admin: Client;

beforeAll(async () => {
  ({ cloud, admin } = await adminSession());
});
afterAll(() => cloud?.stop());

describe('projects', () => {
  it('are created, read, listed, replaced, patched and deleted with ETags', async () => {
    const body = bodies.project();
    const created = await admin.post('/api/v1/projects', body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...body, version: 1, created_by: 'root' });
    expect(created.body.id).toMatch(/^prj_/);
    expect(created.headers.get('location')).toBe(`/api/v1/projects/${created.body.id}`);
    expect(created.headers.get('etag')).toBe('"v1"');
    const path = `/api/v1/projects/${created.body.id}`;

    const read = await admin.get(path);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    const replaced = await admin.put(path, { description: 'new' }, { 'if-match': '"v1"' });
    expect(replaced.status).toBe(200);
    // PUT replaces: display_name was not sent, so it is gone
    expect(replaced.body).toMatchObject({ description: 'new', version: 2 });
    expect(replaced.body.display_name).toBeUndefined();

    const patched = await admin.patch(path, { display_name: 'Shop 2', description: null }, { 'if-match': '"v2"' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ display_name: 'Shop 2', version: 3, name: body.name });
    expect(patched.body.description).toBeUndefined();

    const list = await admin.get('/api/v1/projects?limit=100');
    expect(list.body.items.map((p: { id: string }) => p.id)).toContain(created.body.id);

    expect((await admin.delete(path, { 'if-match': '"v3"' })).status).toBe(204);
    expect((await admin.get(path)).status).toBe(404);
    // the name is free again
    expect((await admin.post('/api/v1/projects', body)).status).toBe(201);
  });

  it('refuse a second project with the same name (409) and write nothing', async () => {
    const body = bodies.project();
    await create(admin, '/api/v1/projects', body);
    const second = await admin.post('/api/v1/projects', { ...body, description: 'other' });
    expect(second.status).toBe(409);
    expect(second.body.type).toBe('https://slipway.dev/problems/name-taken');
    const all = await admin.get('/api/v1/projects?limit=100');
    expect(all.body.items.filter((p: { name: string }) => p.name === body.name)).toHaveLength(1);
  });

  it('need If-Match to change (428) and refuse a stale one (412)', async () => {
    const project = await create(admin, '/api/v1/projects', bodies.project());
    const path = `/api/v1/projects/${project.id}`;
    const missing = await admin.patch(path, { description: 'x' });
    expect(missing.status).toBe(428);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect((await admin.patch(path, { description: 'x' }, { 'if-match': '"v1"' })).status).toBe(200);
    const stale = await admin.patch(path, { description: 'y' }, { 'if-match': '"v1"' });
    expect(stale.status).toBe(412);
    expect(stale.body.type).toBe('https://slipway.dev/problems/stale-etag');
    expect((await admin.delete(path, { 'if-match': '"v1"' })).status).toBe(412);
    expect((await admin.get(path)).body.description).toBe('x');
  });

  it('paginate with a cursor until next_cursor is null, each item once', async () => {
    for (let i = 0; i < 5; i++) await create(admin, '/api/v1/projects', bodies.project());
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await admin.get(`/api/v1/projects?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((p: { id: string }) => p.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(5);
  });
});

describe('applications and environments', () => {
  it('bind an app to its Git repository and list its environments in promotion order', async () => {
    const { project, cluster, app } = await world(admin);
    expect(app).toMatchObject({ project_id: project.id, repository: { provider: 'github', default_branch: 'main' } });
    await create(admin, `/api/v1/apps/${app.id}/envs`, { ...bodies.env(cluster.id, 'dev'), order: 0 });
    await create(admin, `/api/v1/apps/${app.id}/envs`, { ...bodies.env(cluster.id, 'staging'), order: 1 });
    const prod = await admin.get(`/api/v1/apps/${app.id}/envs/prod`);
    expect(
      (
        await admin.patch(
          `/api/v1/apps/${app.id}/envs/prod`,
          { order: 2, protection: { requires_approval: true, minimum_approvals: 2 } },
          { 'if-match': prod.headers.get('etag') ?? '' },
        )
      ).status,
    ).toBe(200);

    const envs = await admin.get(`/api/v1/apps/${app.id}/envs`);
    expect(envs.body.items.map((e: { name: string }) => e.name)).toEqual(['dev', 'staging', 'prod']);
    expect(envs.body.items[2].protection).toMatchObject({
      requires_approval: true,
      minimum_approvals: 2,
      prevent_self_approval: true,
    });

    const byProject = await admin.get(`/api/v1/apps?project_id=${project.id}`);
    expect(byProject.body.items.map((a: { id: string }) => a.id)).toEqual([app.id]);

    const moved = await admin.patch(
      `/api/v1/apps/${app.id}`,
      { repository: { default_branch: 'release/2026' } },
      { 'if-match': '"v1"' },
    );
    expect(moved.status).toBe(200);
    expect(moved.body.repository).toEqual({ ...app.repository, default_branch: 'release/2026' });
  });

  it('refuse deleting a project with apps, an app with envs, a cluster in use (409), then allow it bottom-up', async () => {
    const { project, cluster, app } = await world(admin);
    const refused = await admin.delete(`/api/v1/projects/${project.id}`, { 'if-match': '"v1"' });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('https://slipway.dev/problems/has-children');
    expect((await admin.delete(`/api/v1/apps/${app.id}`, { 'if-match': '"v1"' })).status).toBe(409);
    expect((await admin.delete(`/api/v1/clusters/${cluster.id}`, { 'if-match': '"v1"' })).status).toBe(409);

    expect((await admin.delete(`/api/v1/apps/${app.id}/envs/prod`, { 'if-match': '"v1"' })).status).toBe(204);
    expect((await admin.delete(`/api/v1/apps/${app.id}`, { 'if-match': '"v1"' })).status).toBe(204);
    expect((await admin.delete(`/api/v1/clusters/${cluster.id}`, { 'if-match': '"v1"' })).status).toBe(204);
    expect((await admin.delete(`/api/v1/projects/${project.id}`, { 'if-match': '"v1"' })).status).toBe(204);
  });

  it('refuse an environment on a cluster that does not exist (422) and write nothing', async () => {
    const { app } = await world(admin);
    const reply = await admin.post(`/api/v1/apps/${app.id}/envs`, bodies.env('cls_01jd0000000000000000000000', 'qa'));
    expect(reply.status).toBe(422);
    expect(reply.body.type).toBe('https://slipway.dev/problems/unknown-cluster');
    expect((await admin.get(`/api/v1/apps/${app.id}/envs/qa`)).status).toBe(404);
    expect((await admin.get(`/api/v1/apps/${app.id}`)).body.version).toBe(1);
  });
});

describe('namespaces on a cluster (ADR 12)', () => {
  /** Another project with one app, as a second tenant of the same clusters. */
  async function tenant() {
    const project = await create(admin, '/api/v1/projects', bodies.project());
    const app = await create(admin, '/api/v1/apps', bodies.app(project.id));
    const envs = async () =>
      (await admin.get(`/api/v1/apps/${app.id}/envs`)).body.items.map((e: { name: string }) => e.name);
    const place = (clusterId: string, namespace: string, name = unique('env')) =>
      admin.post(`/api/v1/apps/${app.id}/envs`, { name, cluster_id: clusterId, namespace });
    return { project, app, envs, place };
  }
  const taken = 'https://slipway.dev/problems/namespace-taken';

  it('belong to the project that first uses one: another project gets 409 naming nobody, and nothing is written', async () => {
    const a = await world(admin);
    const b = await tenant();
    const refused = await b.place(a.cluster.id, a.env.namespace);
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe(taken);
    expect(refused.body.detail).toBe(`Namespace ${a.env.namespace} on this cluster belongs to another project.`);
    for (const trace of [a.project.id, a.project.name, a.app.id, a.app.name]) {
      expect(refused.text).not.toContain(trace);
    }
    // Taken is taken: no Retry-After.
    expect(refused.headers.get('retry-after')).toBeNull();
    expect(await b.envs()).toEqual([]);
    expect((await admin.get(`/api/v1/apps/${b.app.id}`)).body.version).toBe(1);

    // The same name on another cluster is another namespace.
    const elsewhere = await create(admin, '/api/v1/clusters', bodies.cluster());
    expect((await b.place(elsewhere.id, a.env.namespace)).status).toBe(201);
  });

  it('are shared by the apps of one project, never by two environments of one app', async () => {
    const a = await world(admin);
    const sibling = await create(admin, '/api/v1/apps', bodies.app(a.project.id));
    const beside = await admin.post(`/api/v1/apps/${sibling.id}/envs`, bodies.env(a.cluster.id, 'prod'));
    expect(beside.status).toBe(201);
    expect(beside.body.namespace).toBe(a.env.namespace);

    // Both would apply one Deployment (named after the app) in one namespace.
    const twin = await admin.post(`/api/v1/apps/${a.app.id}/envs`, {
      ...bodies.env(a.cluster.id, 'staging'),
      namespace: a.env.namespace,
    });
    expect(twin.status).toBe(409);
    expect(twin.body.type).toBe(taken);
    expect((await admin.get(`/api/v1/apps/${a.app.id}/envs/staging`)).status).toBe(404);
    const moveIn = await admin.patch(
      `/api/v1/apps/${a.app.id}/envs/prod`,
      { namespace: a.env.namespace },
      { 'if-match': '"v1"' },
    );
    expect(moveIn.status).toBe(200); // not a move: the same place

    // Apps of one project are named uniquely in it, so their Deployments never collide there.
    const sameName = await admin.post('/api/v1/apps', { ...bodies.app(a.project.id), name: sibling.name });
    expect(sameName.status).toBe(409);
    expect(sameName.body.type).toBe('https://slipway.dev/problems/name-taken');
  });

  it('move with a PATCH and are freed by the last DELETE: another project can take them afterwards', async () => {
    const a = await world(admin);
    const b = await tenant();
    const first = a.env.namespace;
    const path = `/api/v1/apps/${a.app.id}/envs/prod`;

    const moved = await admin.patch(path, { namespace: 'shop-moved' }, { 'if-match': '"v1"' });
    expect(moved.status).toBe(200);
    expect((await b.place(a.cluster.id, 'shop-moved')).status).toBe(409);
    expect((await b.place(a.cluster.id, first, 'took-the-old-one')).status).toBe(201);

    // A move into a namespace another project holds is refused whole: the environment stays put.
    const refused = await admin.patch(path, { namespace: first }, { 'if-match': '"v2"' });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe(taken);
    expect((await admin.get(path)).body).toMatchObject({ namespace: 'shop-moved', version: 2 });

    // Another cluster: the namespace on the first one is freed.
    const other = await create(admin, '/api/v1/clusters', bodies.cluster());
    expect((await admin.patch(path, { cluster_id: other.id }, { 'if-match': '"v2"' })).status).toBe(200);
    expect((await b.place(a.cluster.id, 'shop-moved', 'after-cluster-move')).status).toBe(201);
    expect((await b.place(other.id, 'shop-moved')).status).toBe(409);

    // Two apps of A share it: the first DELETE leaves it A's, the last one frees it.
    const sibling = await create(admin, '/api/v1/apps', bodies.app(a.project.id));
    await create(admin, `/api/v1/apps/${sibling.id}/envs`, {
      name: 'prod',
      cluster_id: other.id,
      namespace: 'shop-moved',
    });
    expect((await admin.delete(path, { 'if-match': '"v3"' })).status).toBe(204);
    expect((await b.place(other.id, 'shop-moved')).status).toBe(409);
    expect((await admin.delete(`/api/v1/apps/${sibling.id}/envs/prod`, { 'if-match': '"v1"' })).status).toBe(204);
    expect((await b.place(other.id, 'shop-moved', 'after-delete')).status).toBe(201);
  });

  it('go to exactly one of several projects asking at once, and stay countable', async () => {
    const cluster = await create(admin, '/api/v1/clusters', bodies.cluster());
    const tenants = await Promise.all(Array.from({ length: 5 }, () => tenant()));
    const replies = await Promise.all(tenants.map((t) => t.place(cluster.id, 'contested', 'prod')));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(4);
    const winner = tenants[replies.findIndex((r) => r.status === 201)];
    const loser = tenants.find((t) => t !== winner);
    if (!winner || !loser) throw new Error('no winner');
    expect((await loser.place(cluster.id, 'contested', 'later')).status).toBe(409);
    expect((await admin.delete(`/api/v1/apps/${winner.app.id}/envs/prod`, { 'if-match': '"v1"' })).status).toBe(204);
    expect((await loser.place(cluster.id, 'contested', 'later')).status).toBe(201);
  });

  it('an environment from before claims holds none: deleting it frees nothing another environment holds', async () => {
    const a = await world(admin);
    const b = await tenant();
    // What an environment created by an earlier version looks like: no claim records.
    const table = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    for (const key of [
      keys.namespaceClaim(a.cluster.id, a.env.namespace),
      keys.namespaceUser(a.cluster.id, a.env.namespace, a.app.id),
    ])
      await table.send(new DeleteCommand({ TableName: process.env.TABLE_NAME, Key: key }));
    // Unclaimed, the namespace is open: a new environment of the same app claims it.
    await create(admin, `/api/v1/apps/${a.app.id}/envs`, {
      ...bodies.env(a.cluster.id, 'qa'),
      namespace: a.env.namespace,
    });

    // Deleting the old one must not free what qa holds.
    expect((await admin.delete(`/api/v1/apps/${a.app.id}/envs/prod`, { 'if-match': '"v1"' })).status).toBe(204);
    expect((await b.place(a.cluster.id, a.env.namespace)).status).toBe(409);
    expect((await admin.delete(`/api/v1/apps/${a.app.id}/envs/qa`, { 'if-match': '"v1"' })).status).toBe(204);
    expect((await b.place(a.cluster.id, a.env.namespace)).status).toBe(201);
  });

  it('refuse the ones Kubernetes and the platform keep for themselves (400, naming namespace)', async () => {
    const { app, cluster } = await world(admin);
    for (const namespace of ['kube-system', 'kube-public', 'kube-node-lease', 'default', 'kube-future']) {
      const reply = await admin.post(`/api/v1/apps/${app.id}/envs`, { ...bodies.env(cluster.id), namespace });
      expect(reply.status, namespace).toBe(400);
      expect(reply.body.invalid_params).toEqual([{ name: 'namespace', reason: expect.stringMatching(/reserved/) }]);
    }
    process.env.SLIPWAY_RESERVED_NAMESPACES = 'istio-system, monitoring';
    try {
      const reply = await admin.patch(
        `/api/v1/apps/${app.id}/envs/prod`,
        { namespace: 'monitoring' },
        { 'if-match': '"v1"' },
      );
      expect(reply.status).toBe(400);
      expect(reply.body.invalid_params).toEqual([{ name: 'namespace', reason: expect.stringMatching(/reserved/) }]);
    } finally {
      delete process.env.SLIPWAY_RESERVED_NAMESPACES;
    }
    expect((await admin.get(`/api/v1/apps/${app.id}/envs`)).body.items).toHaveLength(1);
    // A name is reserved as a namespace only: an app may still be called default.
    expect(
      (await admin.post('/api/v1/apps', { ...bodies.app((await world(admin)).project.id), name: 'default' })).status,
    ).toBe(201);
  });
});

describe('environment protection', () => {
  it('names approver teams that exist, and refuses unknown ones (422) without writing', async () => {
    const { app, cluster } = await world(admin);
    const team = await create(admin, '/api/v1/teams', bodies.team());
    const protection = {
      requires_approval: true,
      approver_teams: [team.id],
      minimum_approvals: 1,
      prevent_self_approval: true,
      approval_timeout_minutes: 60,
    };
    const env = await create(admin, `/api/v1/apps/${app.id}/envs`, {
      ...bodies.env(cluster.id, 'staging'),
      protection,
    });
    expect(env.protection.approver_teams).toEqual([team.id]);

    const ghost = 'team_01jd0000000000000000000000';
    const refused = await admin.post(`/api/v1/apps/${app.id}/envs`, {
      ...bodies.env(cluster.id, 'qa'),
      protection: { ...protection, approver_teams: [ghost] },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.type).toBe('https://slipway.dev/problems/unknown-team');
    expect((await admin.get(`/api/v1/apps/${app.id}/envs/qa`)).status).toBe(404);

    const patched = await admin.patch(
      `/api/v1/apps/${app.id}/envs/prod`,
      { protection: { ...protection, approver_teams: [team.id, ghost] } },
      { 'if-match': '"v1"' },
    );
    expect(patched.status).toBe(422);
    expect((await admin.get(`/api/v1/apps/${app.id}/envs/prod`)).body.version).toBe(1);

    // a team that environments name as approvers cannot be deleted until they stop naming it
    expect((await admin.delete(`/api/v1/teams/${team.id}`, { 'if-match': '"v1"' })).status).toBe(409);
    expect((await admin.delete(`/api/v1/apps/${app.id}/envs/staging`, { 'if-match': '"v1"' })).status).toBe(204);
    expect((await admin.delete(`/api/v1/teams/${team.id}`, { 'if-match': '"v1"' })).status).toBe(204);
  });
});

describe('clusters', () => {
  it('never return the token secret reference', async () => {
    const body = {
      ...bodies.cluster(),
      auth: {
        mode: 'token',
        token_secret_arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kube-token-AbCdEf',
      },
    };
    const created = await create(admin, '/api/v1/clusters', body);
    expect(created.auth).toEqual({ mode: 'token', token_configured: true });
    const read = await admin.get(`/api/v1/clusters/${created.id}`);
    const list = await admin.get('/api/v1/clusters?limit=100');
    for (const text of [JSON.stringify(created), read.text, list.text]) expect(text).not.toContain('secretsmanager');
  });

  it('never return the kubeconfig secret reference, only that one is set and which context is used', async () => {
    const secret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slipway/clusters/kind-AbCdEf';
    const body = {
      ...bodies.cluster(),
      auth: { mode: 'kubeconfig', kubeconfig_secret_arn: secret, context: 'kind-kind' },
    };
    const created = await create(admin, '/api/v1/clusters', body);
    expect(created.auth).toEqual({ mode: 'kubeconfig', kubeconfig_configured: true, context: 'kind-kind' });

    // a patch replaces auth whole: without a context, the kubeconfig's current-context is used
    const patched = await admin.patch(
      `/api/v1/clusters/${created.id}`,
      { auth: { mode: 'kubeconfig', kubeconfig_secret_arn: secret } },
      { 'if-match': '"v1"' },
    );
    expect(patched.status).toBe(200);
    expect(patched.body.auth).toEqual({ mode: 'kubeconfig', kubeconfig_configured: true });
    const read = await admin.get(`/api/v1/clusters/${created.id}`);
    const list = await admin.get('/api/v1/clusters?limit=100');
    for (const text of [JSON.stringify(created), patched.text, read.text, list.text]) {
      expect(text).not.toContain('secretsmanager');
    }
  });
});

describe('users, teams and bindings', () => {
  it('register users on their first call and show their grants at /users/me', async () => {
    const sub = unique('carol');
    const carol = client(cloud.url, await cloud.mintToken({ sub, name: 'Carol', email: 'carol@example.com' }));
    const me = await carol.get('/api/v1/users/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: sub, name: 'Carol', email: 'carol@example.com', grants: [] });
    const users = await admin.get('/api/v1/users?limit=100');
    expect(users.body.items.map((u: { id: string }) => u.id)).toContain(sub);

    // the IdP owns the profile: a new name or group in the token shows on the next call
    const renamed = client(cloud.url, await cloud.mintToken({ sub, name: 'Carol B', groups: ['sre'] }));
    expect((await renamed.get('/api/v1/users/me')).body).toMatchObject({
      name: 'Carol B',
      email: null,
      groups: ['sre'],
    });
  });

  it('give a team member the team role, and take it away with the membership', async () => {
    const { project } = await world(admin);
    const sub = unique('dave');
    const dave = client(cloud.url, await cloud.mintToken({ sub }));
    expect((await dave.get(`/api/v1/projects/${project.id}`)).status).toBe(404);

    const team = await create(admin, '/api/v1/teams', bodies.team());
    const binding = await create(admin, '/api/v1/roles/bind', {
      role: 'viewer',
      subject: { kind: 'team', id: team.id },
      scope: { kind: 'project', project_id: project.id },
    });
    expect(binding.scope_path).toBe(`project/${project.id}`);
    expect((await admin.put(`/api/v1/teams/${team.id}/members/${sub}`, undefined)).status).toBe(201);
    expect((await admin.put(`/api/v1/teams/${team.id}/members/${sub}`, undefined)).status).toBe(200);
    expect((await dave.get(`/api/v1/projects/${project.id}`)).status).toBe(200);
    expect(
      (await dave.patch(`/api/v1/projects/${project.id}`, { description: 'x' }, { 'if-match': '"v1"' })).status,
    ).toBe(403);

    expect((await admin.delete(`/api/v1/teams/${team.id}`, { 'if-match': '"v1"' })).status).toBe(409);
    expect((await admin.delete(`/api/v1/teams/${team.id}/members/${sub}`)).status).toBe(204);
    expect((await dave.get(`/api/v1/projects/${project.id}`)).status).toBe(404);
  });

  it('apply a team binding made after the member joined, and remove it with the binding', async () => {
    const { project } = await world(admin);
    const sub = unique('erin');
    const erin = client(cloud.url, await cloud.mintToken({ sub }));
    await erin.get('/api/v1/users/me');
    const team = await create(admin, '/api/v1/teams', bodies.team());
    await admin.put(`/api/v1/teams/${team.id}/members/${sub}`, undefined);
    const binding = await create(admin, '/api/v1/roles/bind', {
      role: 'maintainer',
      subject: { kind: 'team', id: team.id },
      scope: { kind: 'project', project_id: project.id },
    });
    const me = await erin.get('/api/v1/users/me');
    expect(me.body.grants).toEqual([{ role: 'maintainer', scope: `project/${project.id}`, via: team.id }]);
    expect((await erin.post('/api/v1/apps', bodies.app(project.id))).status).toBe(201);
    expect(
      (await admin.get(`/api/v1/bindings?subject=team:${team.id}`)).body.items.map((b: { id: string }) => b.id),
    ).toEqual([binding.id]);

    expect((await admin.delete(`/api/v1/bindings/${binding.id}`)).status).toBe(204);
    expect((await erin.get('/api/v1/users/me')).body.grants).toEqual([]);
    expect((await erin.post('/api/v1/apps', bodies.app(project.id))).status).toBe(404);
  });

  it('refuse a duplicate binding (409) and a binding for a user who never signed in (404)', async () => {
    const { project } = await world(admin);
    const sub = unique('frank');
    await client(cloud.url, await cloud.mintToken({ sub })).get('/api/v1/users/me');
    const body = {
      role: 'viewer',
      subject: { kind: 'user', id: sub },
      scope: { kind: 'project', project_id: project.id },
    };
    await create(admin, '/api/v1/roles/bind', body);
    expect((await admin.post('/api/v1/roles/bind', body)).status).toBe(409);
    const ghost = await admin.post('/api/v1/roles/bind', { ...body, subject: { kind: 'user', id: 'nobody-yet' } });
    expect(ghost.status).toBe(404);
  });

  it('never let a maintainer grant admin on their project (no escalation)', async () => {
    const { project } = await world(admin);
    const sub = unique('gina');
    const gina = client(cloud.url, await cloud.mintToken({ sub }));
    await gina.get('/api/v1/users/me');
    await create(admin, '/api/v1/roles/bind', {
      role: 'maintainer',
      subject: { kind: 'user', id: sub },
      scope: { kind: 'project', project_id: project.id },
    });
    const scope = { kind: 'project', project_id: project.id };
    expect(
      (await gina.post('/api/v1/roles/bind', { role: 'admin', subject: { kind: 'user', id: sub }, scope })).status,
    ).toBe(403);
    expect(
      (await gina.post('/api/v1/roles/bind', { role: 'developer', subject: { kind: 'user', id: 'root' }, scope }))
        .status,
    ).toBe(201);
  });

  it('list the built-in roles with their permissions', async () => {
    const roles = await admin.get('/api/v1/roles');
    expect(roles.body.items.map((r: { name: string }) => r.name)).toEqual([
      'viewer',
      'developer',
      'maintainer',
      'approver',
      'admin',
    ]);
    expect(roles.body.items[3].permissions).toContain('approval.decide');
  });
});
