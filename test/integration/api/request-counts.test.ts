import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentInvocation, localFunctionName } from '../../../infra/local/lambda-runtime.ts';
import { functions } from '../../../infra/manifest.ts';
import { documentClient } from '../../../shared/store/dynamo.ts';
import { type Client, client, eventually } from '../client.ts';
import type { TestCloud } from '../harness.ts';
import { adminSession, bodies, create, unique, world } from '../seed.ts';

/**
 * DynamoDB requests per API call, counted by an SDK middleware on the functions' own client
 * (the local gateway runs the handlers in this process). These are exact, so they are asserted.
 * Only the API functions' requests count: a workflow a deploy starts runs in this process too.
 */
const apiFunctions = new Set(functions.filter((f) => (f.trigger ?? 'api') === 'api').map(localFunctionName));
const sent: string[] = [];
documentClient.middlewareStack.add(
  (next, context) => async (args) => {
    if (apiFunctions.has(currentInvocation()?.functionName ?? '')) sent.push(String(context.commandName));
    return next(args);
  },
  { step: 'initialize', name: 'countRequests' },
);

async function count(call: () => Promise<{ status: number }>, expectedStatus: number) {
  sent.length = 0;
  const reply = await call();
  expect(reply.status).toBe(expectedStatus);
  return [...sent];
}

let cloud: TestCloud;
let admin: Client;
let fixture: Awaited<ReturnType<typeof world>>;

beforeAll(async () => {
  // Change events are delivered in this same process; only the API's own requests are counted here.
  ({ cloud, admin } = await adminSession({ delivery: { deliverEvents: false } }));
  fixture = await world(admin);
});
afterAll(() => cloud?.stop());

/** An environment of the fixture app on the simulated cluster, registered for it: deploys there run to the end. */
async function envOnTheSimulator(name: string): Promise<void> {
  const sim = cloud.services.kubernetes;
  const cluster = await create(admin, '/api/v1/clusters', {
    name: unique('sim'),
    region: 'us-east-1',
    api_server_url: sim.url,
    ca_data: sim.caData,
    auth: { mode: 'token', token_secret_arn: sim.tokenSecretArn },
  });
  await create(admin, `/api/v1/apps/${fixture.app.id}/envs`, bodies.env(cluster.id, name));
}

/** Its workflow ends before the cloud stops, so no step is cut off halfway. */
async function untilFinal(deployment: string): Promise<void> {
  await eventually(async () => {
    expect((await admin.get(`/api/v1/deployments/${deployment}/status`)).body.final).toBe(true);
  }, 30_000);
}

describe('DynamoDB requests per API call', () => {
  it('a read by id is one request: the object and the caller’s grants in one BatchGetItem', async () => {
    expect(await count(() => admin.get(`/api/v1/projects/${fixture.project.id}`), 200)).toEqual([
      'BatchGetItemCommand',
    ]);
  });

  it('an environment is its read (grants, app, env, release head, freeze rules) and one Query of its schedules', async () => {
    expect(await count(() => admin.get(`/api/v1/apps/${fixture.app.id}/envs/prod`), 200)).toEqual([
      'BatchGetItemCommand',
      'QueryCommand',
    ]);
  });

  it('a page of environments across apps: grants, one Query of the index, then one read of what the rows show and one Query per app', async () => {
    const other = await create(admin, '/api/v1/apps', bodies.app(fixture.project.id));
    await create(admin, `/api/v1/apps/${other.id}/envs`, bodies.env(fixture.cluster.id, 'prod'));
    const requests = await count(() => admin.get(`/api/v1/environments?project_id=${fixture.project.id}`), 200);
    expect(requests.slice(0, 2)).toEqual(['BatchGetItemCommand', 'QueryCommand']);
    // The rows' read and the two apps' schedule Queries go at once, in any order.
    expect(requests.slice(2).sort()).toEqual(['BatchGetItemCommand', 'QueryCommand', 'QueryCommand']);
  });

  it('a list page is one Query, after the caller’s grants', async () => {
    expect(await count(() => admin.get('/api/v1/projects?limit=2'), 200)).toEqual([
      'BatchGetItemCommand',
      'QueryCommand',
    ]);
    expect(await count(() => admin.get(`/api/v1/apps/${fixture.app.id}/envs`), 200)).toEqual([
      'BatchGetItemCommand',
      'QueryCommand',
    ]);
  });

  it('an idempotent create is 4: the key claim, the write quota, the grants with the parent, one transaction with the stored response', async () => {
    const requests = await count(
      () => admin.post('/api/v1/apps', bodies.app(fixture.project.id), { 'idempotency-key': 'count-1' }),
      201,
    );
    expect(requests).toEqual([
      'PutItemCommand',
      'UpdateItemCommand',
      'BatchGetItemCommand',
      'TransactWriteItemsCommand',
    ]);
    const replay = await count(
      () => admin.post('/api/v1/apps', bodies.app(fixture.project.id), { 'idempotency-key': 'count-1' }),
      422,
    );
    expect(replay).toEqual(['PutItemCommand']);
  });

  it('an update is the write quota, a read and one conditional write, committed with its change event', async () => {
    const requests = await count(
      () => admin.patch(`/api/v1/projects/${fixture.project.id}`, { description: 'x' }, { 'if-match': '"v1"' }),
      200,
    );
    expect(requests).toEqual(['UpdateItemCommand', 'BatchGetItemCommand', 'TransactWriteItemsCommand']);
  });

  it('a deploy is 3: the write quota, one read (grants, app, env, release head, the env’s deploy count, the freeze rules), one transaction (with the env’s count)', async () => {
    await envOnTheSimulator('dev');
    let deployment = '';
    const requests = await count(async () => {
      const reply = await admin.post(`/api/v1/apps/${fixture.app.id}/deploy`, { env: 'dev', image: '1.0.0' });
      deployment = reply.body.id;
      return reply;
    }, 202);
    expect(requests).toEqual(['UpdateItemCommand', 'BatchGetItemCommand', 'TransactWriteItemsCommand']);
    await untilFinal(deployment);
  });

  it('DORA metrics are the grants with the app, then one Query of its daily counters; a project adds the Query of its apps', async () => {
    const year = 'from=2026-01-01&to=2026-12-31';
    expect(await count(() => admin.get(`/api/v1/metrics/dora?app_id=${fixture.app.id}&${year}`), 200)).toEqual([
      'BatchGetItemCommand',
      'QueryCommand',
    ]);
    const apps = (await admin.get(`/api/v1/apps?project_id=${fixture.project.id}&limit=100`)).body.items.length;
    const project = await count(
      () => admin.get(`/api/v1/metrics/dora.svg?project_id=${fixture.project.id}&${year}&interval=week`),
      200,
    );
    // The apps of the project, then one Query per app.
    expect(project).toEqual(['BatchGetItemCommand', 'QueryCommand', ...Array(apps).fill('QueryCommand')]);
  });

  it('the freeze check costs no round trip: the rules ride in the deploy’s one BatchGetItem, refused or overridden', async () => {
    await envOnTheSimulator('frozen');
    const now = Date.now();
    await create(admin, '/api/v1/freezes', {
      scope: { app_id: fixture.app.id, env: 'frozen' },
      name: 'Counted',
      window: {
        kind: 'one_off',
        starts_at: new Date(now - 60_000).toISOString(),
        ends_at: new Date(now + 3_600_000).toISOString(),
      },
    });
    const deploy = (body: Record<string, unknown>) =>
      admin.post(`/api/v1/apps/${fixture.app.id}/deploy`, { env: 'frozen', image: '1.0.0', ...body });
    expect(await count(() => deploy({}), 409)).toEqual(['UpdateItemCommand', 'BatchGetItemCommand']);
    let deployment = '';
    const overridden = await count(async () => {
      const reply = await deploy({ override_freeze: { reason: 'counted' } });
      deployment = reply.body.id;
      return reply;
    }, 202);
    expect(overridden).toEqual(['UpdateItemCommand', 'BatchGetItemCommand', 'TransactWriteItemsCommand']);
    await untilFinal(deployment);
  });

  it('never scans', async () => {
    sent.length = 0;
    await admin.get('/api/v1/projects');
    await admin.get('/api/v1/apps');
    await admin.get('/api/v1/clusters');
    await admin.get('/api/v1/users');
    await admin.get('/api/v1/teams');
    await admin.get('/api/v1/bindings');
    expect(sent.filter((name) => /Scan/.test(name))).toEqual([]);
    expect(sent.length).toBe(12);
  });

  it('never scans to list environments across apps, for a platform reader or one bound to a single app', async () => {
    const sub = unique('reader');
    const reader = client(cloud.url, await cloud.mintToken({ sub }));
    await reader.get('/api/v1/users/me');
    await create(admin, '/api/v1/roles/bind', {
      role: 'viewer',
      subject: { kind: 'user', id: sub },
      scope: { kind: 'app', app_id: fixture.app.id },
    });
    sent.length = 0;
    expect((await admin.get('/api/v1/environments')).status).toBe(200);
    expect((await admin.get(`/api/v1/environments?cluster_id=${fixture.cluster.id}&tier=production`)).status).toBe(200);
    const mine = await reader.get('/api/v1/environments?tier=production');
    expect(mine.body.items.map((row: { app: { id: string } }) => row.app.id)).toEqual([fixture.app.id]);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((name) => !['BatchGetItemCommand', 'QueryCommand'].includes(name))).toEqual([]);
  });
});
