import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChatApps, type SignedRequest, signedCallback } from '../../../infra/local/chat-apps.ts';
import type { ChatApps } from '../../../shared/chat/apps.ts';
import { slackSignature } from '../../../shared/chat/verify/slack.ts';
import { MAX_JSON_DEPTH } from '../../../shared/http/json.ts';
import { type Client, client, eventually } from '../client.ts';
import type { TestCloud } from '../harness.ts';
import { adminSession, bodies, create, unique, world } from '../seed.ts';

let cloud: TestCloud;
let admin: Client;
let fixture: Awaited<ReturnType<typeof world>>;
/** A second project and app, so that lists have a second page and cursors a list to be misused on. */
let other: Awaited<ReturnType<typeof world>>;
/** The approval a deployment waits for at the gate of a protected environment. */
let pendingApproval: string;
/** A pipeline of the fixture app (build, then prod). */
let pipeline: { id: string };
/** A GitHub webhook endpoint of the fixture app. */
let hook: { id: string; secret: string };
/** A Slack channel of the fixture project; the other project has as many channels as it may. */
let channel: { id: string };

/** Snapshot of everything a refused request could have touched. */
async function everything() {
  const replies = await Promise.all([
    admin.get('/api/v1/projects?limit=100'),
    admin.get('/api/v1/apps?limit=100'),
    admin.get('/api/v1/clusters?limit=100'),
    admin.get(`/api/v1/apps/${fixture.app.id}/envs?limit=100`),
    admin.get('/api/v1/teams?limit=100'),
    admin.get('/api/v1/bindings?limit=100'),
    admin.get(`/api/v1/projects/${fixture.project.id}`),
    // A refused deploy or rollback would be listed here; a refused vote would show on the approval.
    admin.get(`/api/v1/deployments?app_id=${fixture.app.id}&limit=100`),
    admin.get(`/api/v1/approvals/${pendingApproval}`),
    // A refused build would be listed here.
    admin.get(`/api/v1/builds?app_id=${fixture.app.id}&limit=100`),
    // A refused pipeline write would be listed here, a refused run in its pipeline's runs.
    admin.get(`/api/v1/pipelines?app_id=${fixture.app.id}&limit=100`),
    admin.get(`/api/v1/pipelines/${pipeline.id}/runs?limit=100`),
    // A refused webhook change or delivery would show in the endpoints or the delivery log.
    admin.get(`/api/v1/apps/${fixture.app.id}/webhooks?limit=100`),
    admin.get(`/api/v1/apps/${fixture.app.id}/webhooks/${hook.id}/deliveries?limit=100`),
    // A refused schedule would be listed here.
    admin.get(`/api/v1/schedules?app_id=${fixture.app.id}&limit=100`),
    // A refused freeze write would be listed here.
    admin.get('/api/v1/freezes?limit=100'),
    // A refused chat link change would show here.
    admin.get('/api/v1/users/me/chat-links?limit=100'),
    // A refused channel change would show in the channels (their host, filters, credentials_version).
    admin.get(`/api/v1/projects/${fixture.project.id}/channels?limit=100`),
    admin.get(`/api/v1/projects/${other.project.id}/channels?limit=100`),
  ]);
  return replies.map((r) => r.text);
}

beforeAll(async () => {
  // The platform's own reserved namespaces; handlers run in this worker and read it at each check.
  process.env.SLIPWAY_RESERVED_NAMESPACES = 'istio-system,monitoring';
  ({ cloud, admin } = await adminSession());
  fixture = await world(admin);
  other = await world(admin);
  await create(admin, '/api/v1/apps', bodies.app(fixture.project.id));
  pendingApproval = await waitingAtTheGate();
  build = await aBuild();
  pipeline = await create(admin, '/api/v1/pipelines', { app_id: fixture.app.id, name: 'release', stages: stages() });
  hook = await create(admin, `/api/v1/apps/${fixture.app.id}/webhooks`, { provider: 'github' });
  laterFreeze = await create(admin, '/api/v1/freezes', newFreeze({}));
  developer = await developerOfFixture();
  chatApps = await readChatApps();
  channel = await create(admin, `/api/v1/projects/${fixture.project.id}/channels`, slackChannel());
  for (let i = 0; i < 20; i++) await create(admin, `/api/v1/projects/${other.project.id}/channels`, slackChannel());
});

/** A freeze of the fixture's prod environment, a year from now (its view stays the same all test long). */
let laterFreeze: { id: string };
const year = 365 * 24 * 3_600_000;
const at = (ms: number) => new Date(Date.now() + ms).toISOString();
const later = { kind: 'one_off', starts_at: at(year), ends_at: at(year + 3_600_000) };
/** A valid freeze of the fixture's prod environment, with `change` applied. */
const newFreeze = (change: Record<string, unknown>) => ({
  scope: { app_id: fixture.app.id, env: 'prod' },
  name: 'Year end',
  window: later,
  ...change,
});
const recurring = (change: Record<string, unknown>) => ({
  kind: 'recurring',
  cron: '0 18 * * 5',
  timezone: 'Europe/Berlin',
  duration_minutes: 60,
  ...change,
});
/** A developer of the fixture project: may deploy, may not override a freeze. */
let developer: Client;
async function developerOfFixture(): Promise<Client> {
  const sub = unique('dev');
  const api = client(cloud.url, await cloud.mintToken({ sub }));
  await api.get('/api/v1/users/me');
  await create(admin, '/api/v1/roles/bind', {
    role: 'developer',
    subject: { kind: 'user', id: sub },
    scope: { kind: 'project', project_id: fixture.project.id },
  });
  return api;
}

/** The local chat apps: callbacks signed as each platform signs them (infra/local/chat-apps.ts). */
let chatApps: ChatApps;
const approveFromChat = (platform: 'slack' | 'feishu' | 'dingtalk' | 'wecom', nowMs = Date.now(), apps = chatApps) =>
  signedCallback(apps, platform, {
    user: 'U-someone',
    action: { kind: 'decide', approvalId: pendingApproval, decision: 'approve' },
    nowMs,
  });
const sendChat = (request: SignedRequest) =>
  client(cloud.url).request(request.method, request.path, {
    headers: request.headers,
    ...(request.body === undefined ? {} : { raw: request.body }),
  });

const slackChannel = (change: Record<string, unknown> = {}) => ({
  platform: 'slack',
  webhook_url: 'https://hooks.slack.com/services/T0/B0/secret-part',
  ...change,
});
const newChannel = (change: Record<string, unknown>) =>
  admin.post(`/api/v1/projects/${fixture.project.id}/channels`, slackChannel(change));
const channelPatch = async (patch: Record<string, unknown>) => {
  const path = `/api/v1/projects/${fixture.project.id}/channels/${channel.id}`;
  return admin.patch(path, patch, { 'if-match': (await admin.get(path)).headers.get('etag') ?? '' });
};

/** A build of the other app, on the simulated cluster: what log requests are refused about. */
let build: string;
async function aBuild(): Promise<string> {
  const sim = cloud.services.kubernetes;
  const cluster = await create(admin, '/api/v1/clusters', {
    ...bodies.cluster(),
    api_server_url: sim.url,
    ca_data: sim.caData,
    auth: { mode: 'token', token_secret_arn: sim.tokenSecretArn },
  });
  const app = `/api/v1/apps/${other.app.id}`;
  const etag = (await admin.get(app)).headers.get('etag') ?? '';
  await admin.patch(app, { build_cluster_id: cluster.id }, { 'if-match': etag });
  return (await admin.post('/api/v1/builds', { app_id: other.app.id, commit: { sha: 'a'.repeat(40), ref: 'main' } }))
    .body.id;
}

/** A valid build of the fixture app (which names no build cluster), with `change` applied. */
const buildOf = (change: Record<string, unknown>) =>
  admin.post('/api/v1/builds', { app_id: fixture.app.id, commit: { sha: 'f'.repeat(40), ref: 'main' }, ...change });
const buildLog = (headers: Record<string, string>, query = '') =>
  admin.get(`/api/v1/builds/${build}/logs${query}`, { headers });
afterAll(() => cloud?.stop());

/** The workflow stops at the approval before it touches the cluster: the fixture's cluster never needs to exist. */
async function waitingAtTheGate(): Promise<string> {
  await create(admin, `/api/v1/apps/${fixture.app.id}/envs`, {
    ...bodies.env(fixture.cluster.id, 'gated'),
    protection: {
      requires_approval: true,
      approver_teams: [],
      minimum_approvals: 1,
      prevent_self_approval: false,
      approval_timeout_minutes: 60,
    },
  });
  const deployment = (await admin.post(`/api/v1/apps/${fixture.app.id}/deploy`, { env: 'gated', image: '1.0.0' })).body
    .id as string;
  return eventually(async () => {
    const status = (await admin.get(`/api/v1/deployments/${deployment}/status`)).body;
    if (status.state !== 'waiting_for_approval') throw new Error(`deployment is ${status.state}`);
    return status.approval.id as string;
  });
}

/** Build, then prod: the fixture app's one environment. */
const stages = (prod: Record<string, unknown> = {}) => [
  { name: 'build', type: 'build' },
  { name: 'prod', type: 'deploy', env: 'prod', needs: ['build'], ...prod },
];
/** A valid pipeline of the fixture app, with `change` applied. */
const newPipeline = (change: Record<string, unknown>) =>
  admin.post('/api/v1/pipelines', { app_id: fixture.app.id, name: 'other', stages: stages(), ...change });
const yamlPipeline = (text: string) =>
  admin.request('POST', '/api/v1/pipelines', { raw: text, headers: { 'content-type': 'application/yaml' } });
/** A run of the fixture pipeline at a commit with `change` applied. */
const run = (change: Record<string, unknown>) =>
  admin.post(`/api/v1/pipelines/${pipeline.id}/run`, {
    commit: { sha: '0123456789abcdef0123456789abcdef01234567', ref: 'main', ...change },
  });
/** A "billion laughs": ten aliases of ten aliases of ... expand past any bound. */
const aliasBomb = [
  'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
  ...'bcdefghi'.split('').map((name, i) => {
    const previous = String.fromCharCode(97 + i);
    return `${name}: &${name} [${Array(10).fill(`*${previous}`).join(',')}]`;
  }),
].join('\n');

/** A valid deploy of the fixture app to its prod environment, with `change` applied. */
const deploy = (change: Record<string, unknown>) =>
  admin.post(`/api/v1/apps/${fixture.app.id}/deploy`, { env: 'prod', image: '1.0.0', ...change });
/** The fixture app's DORA metrics with `query` added. */
const dora = (query: string, format = '') =>
  admin.get(`/api/v1/metrics/dora${format}?app_id=${fixture.app.id}&${query}`);
const rollback = (change: Record<string, unknown>) =>
  admin.post('/api/v1/rollbacks', { app_id: fixture.app.id, env: 'prod', ...change });

/** A promotion of the fixture app from prod (which has no release) to gated, with `change` applied. */
const promote = (change: Record<string, unknown>) =>
  admin.post(`/api/v1/apps/${fixture.app.id}/promote`, { from: 'prod', to: 'gated', ...change });

/** A valid schedule of a deploy to the fixture app's prod environment tomorrow, with `change` applied. */
const schedule = (change: Record<string, unknown>) =>
  admin.post('/api/v1/schedules', {
    app_id: fixture.app.id,
    env: 'prod',
    name: 'tomorrow',
    action: { type: 'deploy', image: '1.0.0' },
    at: new Date(Date.now() + 86_400_000).toISOString(),
    ...change,
  });

/** A valid new environment of the fixture app, in `namespace`. */
const placeEnv = (namespace: string) =>
  admin.post(`/api/v1/apps/${fixture.app.id}/envs`, { ...bodies.env(fixture.cluster.id), namespace });
/** `{"a":{"a":…1}}`: objects nested `depth` deep. */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
/** A valid project body with `fields` (raw JSON members) added: JSON.stringify would drop or rename some keys. */
const postProject = (fields: string) =>
  admin.request('POST', '/api/v1/projects', { raw: `{"name":"${unique('proj')}","display_name":"X",${fields}}` });
const changeProject = async (method: 'PUT' | 'PATCH', raw: string) => {
  const path = `/api/v1/projects/${fixture.project.id}`;
  const etag = (await admin.get(path)).headers.get('etag') ?? '';
  return admin.request(method, path, { raw, headers: { 'if-match': etag } });
};
const putProject = (raw: string) => changeProject('PUT', raw);
const patchProject = (raw: string) => changeProject('PATCH', raw);

/** A valid kubeconfig-mode cluster, with `change` applied to its auth. */
const kubeconfigCluster = (change: Record<string, unknown>) => ({
  ...bodies.cluster(),
  auth: {
    mode: 'kubeconfig',
    kubeconfig_secret_arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slipway/clusters/kind-AbCdEf',
    ...change,
  },
});

describe('bad input gets a clear 4xx problem and changes nothing', () => {
  const cases: [string, () => Promise<{ status: number; body: { type?: string; status?: number } }>, number, string][] =
    [
      [
        'malformed JSON',
        () => admin.request('POST', '/api/v1/projects', { raw: '{"name": "x",' }),
        400,
        'malformed-json',
      ],
      ['a JSON array body', () => admin.request('POST', '/api/v1/projects', { raw: '[1,2]' }), 400, 'invalid-request'],
      ['wrong types', () => admin.post('/api/v1/projects', { name: 42, labels: 'x' }), 400, 'invalid-request'],
      [
        'unknown fields',
        () => admin.post('/api/v1/projects', { ...bodies.project(), owner: 'me' }),
        400,
        'invalid-request',
      ],
      [
        'unknown nested fields',
        () =>
          admin.post('/api/v1/apps', {
            ...bodies.app(fixture.project.id),
            repository: { ...bodies.app('').repository, token: 'x' },
          }),
        400,
        'invalid-request',
      ],
      [
        'a Git provider API over plain http, or a status token given as text instead of a secret ARN',
        () =>
          admin.post('/api/v1/apps', {
            ...bodies.app(fixture.project.id),
            repository: {
              ...bodies.app('').repository,
              api_base_url: 'http://ghe.example.com/api/v3',
              status_token_secret_arn: 'ghp_0123456789',
            },
          }),
        400,
        'invalid-request',
      ],
      [
        'a huge body',
        () =>
          admin.request('POST', '/api/v1/projects', {
            raw: JSON.stringify({ name: 'x', description: 'a'.repeat(70_000) }),
          }),
        413,
        'payload-too-large',
      ],
      [
        'a form body',
        () =>
          admin.request('POST', '/api/v1/projects', {
            raw: 'name=x',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
        415,
        'unsupported-media-type',
      ],
      ['a malformed project id', () => admin.get('/api/v1/projects/..%2F..%2Fetc'), 404, 'not-found'],
      ['an id of another kind', () => admin.get(`/api/v1/projects/${fixture.app.id}`), 404, 'not-found'],
      ['a missing app', () => admin.get('/api/v1/apps/app_01jd0000000000000000000000'), 404, 'not-found'],
      ['an env name with a #', () => admin.get(`/api/v1/apps/${fixture.app.id}/envs/a%23b`), 404, 'not-found'],
      [
        'an app in a missing project',
        () => admin.post('/api/v1/apps', bodies.app('prj_01jd0000000000000000000000')),
        404,
        'not-found',
      ],
      ['a limit over the maximum', () => admin.get('/api/v1/projects?limit=1000'), 400, 'invalid-request'],
      [
        'a forged cursor',
        () =>
          admin.get(`/api/v1/projects?cursor=${Buffer.from('{"PK":"USER#root","SK":"USER"}').toString('base64url')}`),
        400,
        'invalid-cursor',
      ],
      ['a garbage cursor', () => admin.get('/api/v1/projects?cursor=%%%'), 400, 'invalid-cursor'],
      [
        'a PATCH that is not an object',
        () =>
          admin.request('PATCH', `/api/v1/projects/${fixture.project.id}`, {
            raw: '"x"',
            headers: { 'if-match': '"v1"' },
          }),
        400,
        'invalid-request',
      ],
      [
        'a PATCH that changes the name',
        () => admin.patch(`/api/v1/projects/${fixture.project.id}`, { name: 'renamed' }, { 'if-match': '"v1"' }),
        400,
        'invalid-request',
      ],
      [
        'a PATCH that breaks a rule',
        () =>
          admin.patch(
            `/api/v1/apps/${fixture.app.id}/envs/prod`,
            { protection: { minimum_approvals: 0 } },
            { 'if-match': '"v1"' },
          ),
        400,
        'invalid-request',
      ],
      [
        'an Idempotency-Key with spaces',
        () => admin.post('/api/v1/projects', bodies.project(), { 'idempotency-key': 'a b' }),
        400,
        'invalid-request',
      ],
      ['a bad subject filter', () => admin.get('/api/v1/bindings?subject=robot:x'), 400, 'invalid-request'],
      [
        'a kubeconfig cluster with an unknown auth field',
        () => admin.post('/api/v1/clusters', kubeconfigCluster({ kubeconfig: 'apiVersion: v1' })),
        400,
        'invalid-request',
      ],
      [
        'a kubeconfig cluster whose secret reference is not an ARN',
        () => admin.post('/api/v1/clusters', kubeconfigCluster({ kubeconfig_secret_arn: 'slipway/clusters/kind' })),
        400,
        'invalid-request',
      ],
      ['a deploy with an unknown field', () => deploy({ force: true }), 400, 'invalid-request'],
      ['a deploy of a bad image reference', () => deploy({ image: 'Shop API:latest' }), 400, 'invalid-request'],
      [
        'a deploy of an image from another repository',
        () => deploy({ image: 'docker.io/mallory/miner:1.0.0' }),
        422,
        'image-repository-mismatch',
      ],
      ['a deploy of too many replicas', () => deploy({ replicas: 101 }), 400, 'invalid-request'],
      ['a deploy of negative replicas', () => deploy({ replicas: -1 }), 400, 'invalid-request'],
      ['a deploy to an unknown environment', () => deploy({ env: 'nowhere' }), 404, 'not-found'],
      ['a deploy with a 1 s progress deadline', () => deploy({ progress_deadline_seconds: 1 }), 400, 'invalid-request'],
      ['a rollback to revision 0', () => rollback({ target_revision: 0 }), 400, 'invalid-request'],
      ['a deploy overriding a freeze without a reason', () => deploy({ override_freeze: {} }), 400, 'invalid-request'],
      [
        'a deploy overriding a freeze with an empty reason',
        () => deploy({ override_freeze: { reason: '' } }),
        400,
        'invalid-request',
      ],
      [
        'a deploy overriding a freeze without freeze.override',
        () =>
          developer.post(`/api/v1/apps/${fixture.app.id}/deploy`, {
            env: 'prod',
            image: '1.0.0',
            override_freeze: { reason: 'hotfix' },
          }),
        403,
        'forbidden',
      ],
      [
        'a rollback overriding a freeze without a reason',
        () => rollback({ override_freeze: { because: 'x' } }),
        400,
        'invalid-request',
      ],
      [
        'a freeze whose window ends before it starts',
        () => admin.post('/api/v1/freezes', newFreeze({ window: { ...later, ends_at: at(year - 60_000) } })),
        400,
        'invalid-request',
      ],
      [
        'a freeze over 30 days',
        () => admin.post('/api/v1/freezes', newFreeze({ window: { ...later, ends_at: at(year + 31 * 86_400_000) } })),
        400,
        'invalid-request',
      ],
      [
        'a recurring freeze over 30 days',
        () => admin.post('/api/v1/freezes', newFreeze({ window: recurring({ duration_minutes: 30 * 24 * 60 + 1 }) })),
        400,
        'invalid-request',
      ],
      [
        'a recurring freeze with an invalid cron',
        () => admin.post('/api/v1/freezes', newFreeze({ window: recurring({ cron: '0 25 * * 5' }) })),
        400,
        'invalid-request',
      ],
      [
        'a recurring freeze with AWS’s 6-field cron',
        () => admin.post('/api/v1/freezes', newFreeze({ window: recurring({ cron: '0 18 ? * FRI *' }) })),
        400,
        'invalid-request',
      ],
      [
        'a recurring freeze in an unknown time zone',
        () => admin.post('/api/v1/freezes', newFreeze({ window: recurring({ timezone: 'Mars/Olympus_Mons' }) })),
        400,
        'invalid-request',
      ],
      [
        'a freeze with an empty scope',
        () => admin.post('/api/v1/freezes', newFreeze({ scope: {} })),
        400,
        'invalid-request',
      ],
      [
        'a freeze of an environment without its app',
        () => admin.post('/api/v1/freezes', newFreeze({ scope: { env: 'prod' } })),
        400,
        'invalid-request',
      ],
      [
        'a freeze with an unknown field',
        () => admin.post('/api/v1/freezes', newFreeze({ override: true })),
        400,
        'invalid-request',
      ],
      [
        'a freeze of an unknown environment',
        () => admin.post('/api/v1/freezes', newFreeze({ scope: { app_id: fixture.app.id, env: 'nowhere' } })),
        404,
        'not-found',
      ],
      [
        'a freeze change whose window ends before it starts',
        () =>
          admin.patch(
            `/api/v1/freezes/${laterFreeze.id}`,
            { window: { ...later, ends_at: at(year - 60_000) } },
            { 'if-match': '"v1"' },
          ),
        400,
        'invalid-request',
      ],
      [
        'a freeze change of its scope',
        () => admin.patch(`/api/v1/freezes/${laterFreeze.id}`, { scope: 'platform' }, { 'if-match': '"v1"' }),
        400,
        'invalid-request',
      ],
      ['a freeze list by a bad scope', () => admin.get('/api/v1/freezes?scope=project/../x'), 400, 'invalid-request'],
      ['a malformed freeze id', () => admin.get('/api/v1/freezes/frz_..%2Fx'), 404, 'not-found'],
      ['a rollback to an unknown revision', () => rollback({ target_revision: 99 }), 404, 'not-found'],
      ['a promote from an environment with no release', () => promote({}), 422, 'nothing-to-promote'],
      ['a promote from and to the same environment', () => promote({ to: 'prod' }), 400, 'invalid-request'],
      ['a promote with an unknown field', () => promote({ image: '1.0.0' }), 400, 'invalid-request'],
      [
        'an environment of an unknown tier',
        () => admin.post(`/api/v1/apps/${fixture.app.id}/envs`, { ...bodies.env(fixture.cluster.id), tier: 'prod' }),
        400,
        'invalid-request',
      ],
      [
        'an environments list of an unknown tier',
        () => admin.get('/api/v1/environments?tier=live'),
        400,
        'invalid-request',
      ],
      [
        'an environments list with a malformed cluster id',
        () => admin.get('/api/v1/environments?cluster_id=cls_..%2F'),
        400,
        'invalid-request',
      ],
      [
        'an approval with an unknown field',
        () => admin.post(`/api/v1/approvals/${pendingApproval}/approve`, { comment: 'ok', force: true }),
        400,
        'invalid-request',
      ],
      ['a malformed deployment id', () => admin.get('/api/v1/deployments/dep_..%2F..%2Fx'), 404, 'not-found'],
      ['an environment in kube-system', () => placeEnv('kube-system'), 400, 'invalid-request'],
      ['an environment in kube-node-lease', () => placeEnv('kube-node-lease'), 400, 'invalid-request'],
      ['an environment in a namespace the platform reserves', () => placeEnv('istio-system'), 400, 'invalid-request'],
      [
        'pipeline YAML that does not parse',
        () => yamlPipeline(`app_id: ${fixture.app.id}\nname: yaml\nstages:\n  - name: build\n   type: build\n`),
        400,
        'invalid-request',
      ],
      ['pipeline YAML whose aliases expand without bound', () => yamlPipeline(aliasBomb), 400, 'invalid-request'],
      [
        'a pipeline YAML document over the size limit',
        () => yamlPipeline(`description: "${'a'.repeat(70_000)}"\n`),
        413,
        'payload-too-large',
      ],
      [
        'a pipeline stage with an unknown key',
        () => newPipeline({ stages: [{ name: 'build', type: 'build', privileged: true }] }),
        400,
        'invalid-request',
      ],
      [
        'pipeline stages that need each other in a cycle',
        () =>
          newPipeline({
            stages: [
              { name: 'build', type: 'build' },
              { name: 'a', type: 'deploy', env: 'prod', needs: ['build', 'b'] },
              { name: 'b', type: 'deploy', env: 'prod', needs: ['a'] },
            ],
          }),
        400,
        'invalid-request',
      ],
      [
        'a pipeline stage that needs no stage',
        () => newPipeline({ stages: stages({ needs: ['biuld'] }) }),
        400,
        'invalid-request',
      ],
      [
        'a deploy stage to an environment the app does not have',
        () => newPipeline({ stages: stages({ env: 'staging' }) }),
        422,
        'unknown-environment',
      ],
      [
        'a PATCH giving a pipeline a second build',
        () =>
          admin.patch(
            `/api/v1/pipelines/${pipeline.id}`,
            { stages: [...stages(), { name: 'build2', type: 'build' }] },
            { 'if-match': '"v1"' },
          ),
        400,
        'invalid-request',
      ],
      [
        'a pipeline version that is no number',
        () => admin.get(`/api/v1/pipelines/${pipeline.id}?version=1e3`),
        400,
        'invalid-request',
      ],
      ['a run at a short commit SHA', () => run({ sha: '0123456' }), 400, 'invalid-request'],
      ['a run at a commit SHA that is not hex', () => run({ sha: 'z'.repeat(40) }), 400, 'invalid-request'],
      ['a run at a ref with ..', () => run({ ref: 'refs/heads/../main' }), 400, 'invalid-request'],
      ['a run with an unknown commit field', () => run({ tree: 'x' }), 400, 'invalid-request'],
      [
        'a run of a pipeline that does not exist',
        () =>
          admin.post('/api/v1/pipelines/pln_01jd0000000000000000000000/run', {
            commit: { sha: 'a'.repeat(40), ref: 'main' },
          }),
        404,
        'not-found',
      ],
      ['a malformed run id', () => admin.get('/api/v1/runs/run_..%2F..%2Fx'), 404, 'not-found'],
      [
        'a webhook of an unknown provider',
        () => admin.post(`/api/v1/apps/${fixture.app.id}/webhooks`, { provider: 'bitbucket' }),
        400,
        'invalid-request',
      ],
      [
        'a webhook with an unknown event',
        () => admin.post(`/api/v1/apps/${fixture.app.id}/webhooks`, { provider: 'github', events: ['issues'] }),
        400,
        'invalid-request',
      ],
      [
        'a GitLab webhook for a GitHub repository',
        () => admin.post(`/api/v1/apps/${fixture.app.id}/webhooks`, { provider: 'gitlab' }),
        422,
        'provider-mismatch',
      ],
      [
        'a rotation overlapping past 7 days',
        () => admin.post(`/api/v1/apps/${fixture.app.id}/webhooks/${hook.id}/rotate`, { overlap_hours: 1000 }),
        400,
        'invalid-request',
      ],
      [
        'a malformed webhook id',
        () => admin.delete(`/api/v1/apps/${fixture.app.id}/webhooks/hook_..%2Fx`),
        404,
        'not-found',
      ],
      ['a channel on an unknown platform', () => newChannel({ platform: 'teams' }), 400, 'invalid-request'],
      [
        'a channel whose webhook is not a URL',
        () => newChannel({ webhook_url: 'hooks.slack.com' }),
        400,
        'invalid-request',
      ],
      [
        'a channel on a host that is not the platform’s',
        () => newChannel({ webhook_url: 'https://hooks.slack.example.com/services/x' }),
        422,
        'host-not-allowed',
      ],
      [
        'a channel on a private address',
        () => newChannel({ webhook_url: 'https://10.0.0.8/services/x' }),
        422,
        'private-host',
      ],
      [
        'a channel on the metadata endpoint',
        () => newChannel({ webhook_url: 'http://169.254.169.254/latest/meta-data' }),
        422,
        'private-host',
      ],
      [
        'a channel over plain http',
        () => newChannel({ webhook_url: 'http://hooks.slack.com/services/x' }),
        422,
        'invalid-webhook-url',
      ],
      [
        'a channel with a password in its URL',
        () => newChannel({ webhook_url: 'https://u:p@hooks.slack.com/services/x' }),
        422,
        'invalid-webhook-url',
      ],
      [
        'a channel filtering on an unknown event type',
        () => newChannel({ filters: { event_types: ['Deployment Exploded'] } }),
        422,
        'unknown-event-type',
      ],
      [
        'a channel filtering on an unknown outcome',
        () => newChannel({ filters: { outcomes: ['maybe'] } }),
        400,
        'invalid-request',
      ],
      ['a signing secret for a Slack channel', () => newChannel({ secret: 'abc' }), 422, 'secret-not-supported'],
      [
        'a channel past the project’s limit',
        () => admin.post(`/api/v1/projects/${other.project.id}/channels`, slackChannel()),
        422,
        'too-many-channels',
      ],
      [
        'a channel moved to a private address',
        () => channelPatch({ webhook_url: 'https://192.168.1.20/hook' }),
        422,
        'private-host',
      ],
      ['a channel patch changing its platform', () => channelPatch({ platform: 'wecom' }), 400, 'invalid-request'],
      [
        'a channel patch with an unknown event type',
        () => channelPatch({ filters: { event_types: ['Nope Happened'] } }),
        422,
        'unknown-event-type',
      ],
      [
        'a malformed channel id',
        () => admin.get(`/api/v1/projects/${fixture.project.id}/channels/chn_..%2Fx`),
        404,
        'not-found',
      ],
      [
        'a channel of another project',
        () => admin.get(`/api/v1/projects/${other.project.id}/channels/${channel.id}`),
        404,
        'not-found',
      ],
      [
        'a delivery with a wrong signature',
        () =>
          client(cloud.url).request('POST', `/api/v1/hooks/github/${hook.id}`, {
            raw: '{"zen":"x"}',
            headers: {
              'x-github-event': 'ping',
              'x-github-delivery': 'd1',
              'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
            },
          }),
        401,
        'unauthorized',
      ],
      [
        'a delivery signed for GitHub sent to the GitLab route',
        () =>
          client(cloud.url).request('POST', `/api/v1/hooks/gitlab/${hook.id}`, {
            raw: '{"zen":"x"}',
            headers: { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': hook.secret },
          }),
        401,
        'unauthorized',
      ],
      ['a schedule of an environment the app does not have', () => schedule({ env: 'nowhere' }), 404, 'not-found'],
      ['a malformed schedule id', () => admin.get('/api/v1/schedules/sch_..%2Fx'), 404, 'not-found'],
      ['schedules listed by neither app nor project', () => admin.get('/api/v1/schedules'), 400, 'invalid-request'],
      [
        'a run cancel with an unknown field',
        () => admin.post('/api/v1/runs/run_01jd0000000000000000000000/cancel', { force: true }),
        400,
        'invalid-request',
      ],
      [
        'a PATCH moving an environment to default',
        () => admin.patch(`/api/v1/apps/${fixture.app.id}/envs/prod`, { namespace: 'default' }, { 'if-match': '"v1"' }),
        400,
        'invalid-request',
      ],
      ['a PATCH nested past the limit', () => patchProject(nested(MAX_JSON_DEPTH + 1)), 400, 'json-too-deep'],
      ['a PATCH nested 5000 deep', () => patchProject(nested(5000)), 400, 'json-too-deep'],
      [
        'a POST nested 5000 deep',
        () => admin.request('POST', '/api/v1/projects', { raw: `{"name":"deep","labels":${nested(5000)}}` }),
        400,
        'json-too-deep',
      ],
      [
        'a POST of arrays nested 30000 deep',
        () => postProject(`"labels":${'['.repeat(30_000)}${']'.repeat(30_000)}`),
        400,
        'json-too-deep',
      ],
      ['a POST with __proto__', () => postProject('"__proto__":{"description":"polluted"}'), 400, 'reserved-json-key'],
      ['a POST with a nested constructor', () => postProject('"labels":{"constructor":"x"}'), 400, 'reserved-json-key'],
      ['a POST with a nested prototype', () => postProject('"labels":{"prototype":"x"}'), 400, 'reserved-json-key'],
      [
        'a PUT with __proto__',
        () => putProject('{"__proto__":{"labels":{"a":"b"}},"description":"x"}'),
        400,
        'reserved-json-key',
      ],
      [
        'a PUT with a nested prototype',
        () => putProject('{"description":"x","labels":{"prototype":"x"}}'),
        400,
        'reserved-json-key',
      ],
      [
        'a PATCH with __proto__',
        () => patchProject('{"__proto__":{"description":"polluted"}}'),
        400,
        'reserved-json-key',
      ],
      [
        'a PATCH with a nested __proto__',
        () => patchProject('{"labels":{"__proto__":{"a":"b"}}}'),
        400,
        'reserved-json-key',
      ],
      [
        'a PATCH with constructor',
        () => patchProject('{"constructor":{"prototype":{"a":1}}}'),
        400,
        'reserved-json-key',
      ],
      [
        'a PATCH with a nested constructor',
        () => patchProject('{"labels":{"constructor":"x"}}'),
        400,
        'reserved-json-key',
      ],
      [
        'an unsigned cursor of the right shape',
        async () => {
          // The key the first page ended on, as the store writes it (ADR 1), with nothing to vouch for it.
          const { id, name } = (await admin.get('/api/v1/projects?limit=1')).body.items[0];
          const key = { GSI1PK: 'KIND#project', GSI1SK: `${name}#${id}`, PK: `PROJECT#${id}`, SK: 'PROJECT' };
          return admin.get(`/api/v1/projects?cursor=${Buffer.from(JSON.stringify(key)).toString('base64url')}`);
        },
        400,
        'invalid-cursor',
      ],
      [
        'a cursor signed with another key',
        async () => {
          const [payload] = (await admin.get('/api/v1/projects?limit=1')).body.next_cursor.split('.');
          return admin.get(`/api/v1/projects?cursor=${payload}.${randomBytes(32).toString('base64url')}`);
        },
        400,
        'invalid-cursor',
      ],
      [
        "a cursor of one project's apps used on another's",
        async () => {
          const { next_cursor } = (await admin.get(`/api/v1/apps?project_id=${fixture.project.id}&limit=1`)).body;
          return admin.get(`/api/v1/apps?project_id=${other.project.id}&cursor=${next_cursor}`);
        },
        400,
        'invalid-cursor',
      ],
      [
        'a build of a commit that is not 40 hex',
        () => buildOf({ commit: { sha: 'abc1234', ref: 'main' } }),
        400,
        'invalid-request',
      ],
      [
        'a build of an uppercase SHA',
        () => buildOf({ commit: { sha: 'F'.repeat(40), ref: 'main' } }),
        400,
        'invalid-request',
      ],
      [
        'a build of a ref that is no Git ref',
        () => buildOf({ commit: { sha: 'f'.repeat(40), ref: 'a..b' } }),
        400,
        'invalid-request',
      ],
      ['a build with an unknown field', () => buildOf({ push: false }), 400, 'invalid-request'],
      ['a build context outside the repository', () => buildOf({ context: '../secrets' }), 400, 'invalid-request'],
      ['a build of a missing app', () => buildOf({ app_id: 'app_01jd0000000000000000000000' }), 404, 'not-found'],
      ['a build of an app with no build cluster (and no default)', () => buildOf({}), 422, 'no-build-cluster'],
      [
        'an app naming a build cluster that is not registered',
        async () => {
          const path = `/api/v1/apps/${fixture.app.id}`;
          const etag = (await admin.get(path)).headers.get('etag') ?? '';
          return admin.patch(path, { build_cluster_id: 'cls_01jd0000000000000000000000' }, { 'if-match': etag });
        },
        422,
        'unknown-cluster',
      ],
      [
        'a garbage Last-Event-ID',
        () => buildLog({ accept: 'text/event-stream', 'last-event-id': 'x1' }),
        400,
        'invalid-request',
      ],
      [
        'a negative Last-Event-ID',
        () => buildLog({ accept: 'text/event-stream', 'last-event-id': '-5' }),
        400,
        'invalid-request',
      ],
      [
        'a Last-Event-ID past the end of the log',
        () => buildLog({ accept: 'text/event-stream', 'last-event-id': '999999999' }),
        400,
        'invalid-request',
      ],
      ['a garbage since', () => buildLog({}, '?since=1e3'), 400, 'invalid-request'],
      ['an unknown build', () => admin.get('/api/v1/builds/bld_01jd0000000000000000000000'), 404, 'not-found'],
      ['a malformed build id', () => admin.get('/api/v1/builds/bld_..%2Fx/logs'), 404, 'not-found'],
      ['builds without app_id', () => admin.get('/api/v1/builds'), 400, 'invalid-request'],
      [
        'a cancel of an unknown build',
        () => admin.post('/api/v1/builds/bld_01jd0000000000000000000000/cancel', {}),
        404,
        'not-found',
      ],
      [
        'a build cancel with an unknown field',
        () => admin.post(`/api/v1/builds/${build}/cancel`, { force: true }),
        400,
        'invalid-request',
      ],
      [
        'a deploy whose commit has no time, or a short SHA',
        () => deploy({ commit: { sha: 'abc1234', committed_at: 'yesterday' } }),
        400,
        'invalid-request',
      ],
      ['DORA metrics from after to', () => dora('from=2026-03-02&to=2026-03-01'), 400, 'invalid-request'],
      ['DORA metrics over 366 days', () => dora('from=2025-01-01&to=2026-01-02'), 400, 'invalid-request'],
      ['DORA metrics by an unknown interval', () => dora('interval=year'), 400, 'invalid-request'],
      ['DORA metrics of a day that does not exist', () => dora('from=2026-02-30'), 400, 'invalid-request'],
      [
        'DORA metrics of an app with another project',
        () => admin.get(`/api/v1/metrics/dora?app_id=${fixture.app.id}&project_id=${other.project.id}`),
        400,
        'invalid-request',
      ],
      ['DORA metrics of nothing named', () => admin.get('/api/v1/metrics/dora'), 400, 'invalid-request'],
      ['a DORA chart by an unknown interval', () => dora('interval=quarter', '.svg'), 400, 'invalid-request'],
      [
        'DORA metrics of an unknown project',
        () => admin.get('/api/v1/metrics/dora?project_id=prj_01jd0000000000000000000000'),
        404,
        'not-found',
      ],
      [
        'a Slack button with a wrong signature',
        () => {
          const signed = approveFromChat('slack');
          return sendChat({ ...signed, headers: { ...signed.headers, 'x-slack-signature': `v0=${'0'.repeat(64)}` } });
        },
        401,
        'unauthorized',
      ],
      [
        'a Slack button signed ten minutes ago',
        () => sendChat(approveFromChat('slack', Date.now() - 600_000)),
        401,
        'unauthorized',
      ],
      [
        'a Feishu card action encrypted with another Encrypt Key',
        () =>
          sendChat(
            approveFromChat('feishu', Date.now(), {
              feishu: { ...(chatApps.feishu as NonNullable<ChatApps['feishu']>), encrypt_key: 'not-the-key' },
            }),
          ),
        401,
        'unauthorized',
      ],
      [
        'a DingTalk card callback without its sign',
        () => {
          const { sign: _sign, ...headers } = approveFromChat('dingtalk').headers;
          return sendChat({ ...approveFromChat('dingtalk'), headers });
        },
        401,
        'unauthorized',
      ],
      [
        'a WeCom event with a wrong msg_signature',
        () => {
          const signed = approveFromChat('wecom');
          return sendChat({
            ...signed,
            path: signed.path.replace(/msg_signature=[0-9a-f]+/, `msg_signature=${'0'.repeat(40)}`),
          });
        },
        401,
        'unauthorized',
      ],
      [
        'a signed Slack interaction that is not a button',
        () => {
          const body = new URLSearchParams({
            payload: JSON.stringify({ type: 'view_closed', user: { id: 'U1' } }),
          }).toString();
          const signed = approveFromChat('slack');
          const timestamp = signed.headers['x-slack-request-timestamp'] as string;
          const secret = chatApps.slack?.signing_secret ?? '';
          const headers = { ...signed.headers, 'x-slack-signature': slackSignature(secret, timestamp, body) };
          return sendChat({ ...signed, body, headers });
        },
        400,
        'invalid-request',
      ],
      ['a malformed chat link id', () => admin.delete('/api/v1/users/me/chat-links/lnk_..%2Fx'), 404, 'not-found'],
    ];

  it.each(cases)('%s', async (_name, send, status, type) => {
    const before = await everything();
    const reply = await send();
    expect(reply.status).toBe(status);
    expect(reply.body.type).toBe(`https://slipway.dev/problems/${type}`);
    expect(reply.body.status).toBe(status);
    expect(JSON.stringify(reply.body)).not.toMatch(/at .*\.ts:\d+|node_modules/);
    expect(await everything()).toEqual(before);
  });
});

describe('a cluster URL that points inside is refused at registration, naming api_server_url', () => {
  const simulator = () => new URL(cloud.services.kubernetes.url);
  const internal: [string, () => string][] = [
    ['loopback', () => 'https://127.0.0.1:6443'],
    ['loopback as a decimal number', () => 'https://2130706433'],
    ['loopback in hex, shortened', () => 'https://0x7f.1:6443'],
    ['loopback shortened', () => 'https://127.1'],
    ['IPv6 loopback', () => 'https://[::1]:6443'],
    ['IPv4-mapped loopback', () => 'https://[::ffff:127.0.0.1]'],
    ['localhost', () => 'https://localhost:6443'],
    ['the unspecified address', () => 'https://0.0.0.0'],
    ['the IPv6 unspecified address', () => 'https://[::]'],
    ['the metadata service', () => 'https://169.254.169.254'],
    ['the IPv6 metadata service', () => 'https://[fd00:ec2::254]'],
    ['the metadata service, IPv4-mapped', () => 'https://[::ffff:a9fe:a9fe]'],
    ['a link-local address', () => 'https://169.254.3.4'],
    ['an IPv6 link-local address', () => 'https://[fe80::1]'],
    // The local cloud allows its simulator's exact address, nothing near it.
    [
      "the simulator's address on another port",
      () => `https://${simulator().hostname}:${Number(simulator().port) + 1}`,
    ],
  ];

  it.each(internal)('a new cluster on %s', async (_name, url) => {
    const before = await everything();
    const reply = await admin.post('/api/v1/clusters', { ...bodies.cluster(), api_server_url: url() });
    expect(reply.status).toBe(400);
    expect(reply.body.type).toBe('https://slipway.dev/problems/invalid-request');
    expect(reply.body.invalid_params).toEqual([
      { name: 'api_server_url', reason: expect.stringMatching(/^not an address Slipway connects to: .+/) },
    ]);
    expect(await everything()).toEqual(before);
  });

  it.each(internal)('a cluster moved to %s', async (_name, url) => {
    const path = `/api/v1/clusters/${fixture.cluster.id}`;
    const { headers } = await admin.get(path);
    const before = await everything();
    const reply = await admin.patch(path, { api_server_url: url() }, { 'if-match': headers.get('etag') ?? '' });
    expect(reply.status).toBe(400);
    expect(reply.body.invalid_params).toEqual([{ name: 'api_server_url', reason: expect.any(String) }]);
    expect(await everything()).toEqual(before);
  });
});

describe('schedules', () => {
  const recurring = { at: undefined, cron: '0 2 * * *', timezone: 'Europe/Berlin' };
  it.each([
    ['an invalid cron, naming the field', { ...recurring, cron: '0 25 * * *' }, 'cron', /^hour: '25' is outside 0-23/],
    ['a cron of 6 fields (AWS’s)', { ...recurring, cron: '0 2 * * ? *' }, 'cron', /has 5 fields/],
    ['an unknown time zone', { ...recurring, timezone: 'Mars/Olympus' }, 'timezone', /IANA time zone/],
    ['a cron without its time zone', { ...recurring, timezone: undefined }, 'timezone', /needs its IANA timezone/],
    ['an at in the past', { at: '2020-01-01T00:00:00Z' }, 'at', /has passed/],
    ['both at and cron', { cron: '0 2 * * *', timezone: 'UTC' }, 'at', /either at .* or cron/],
    ['neither at nor cron', { at: undefined }, 'at', /either at .* or cron/],
    ['a flexible window over a day', { flexible_window_minutes: 1441 }, 'flexible_window_minutes', /./],
    ['an unknown action', { action: { type: 'restart' } }, 'action.type', /./],
  ])('%s: 400 naming the field, nothing scheduled', async (_name, change, field, reason) => {
    const before = await everything();
    const reply = await schedule(change);
    expect(reply.status, reply.text).toBe(400);
    expect(reply.body.type).toBe('https://slipway.dev/problems/invalid-request');
    expect(reply.body.invalid_params).toContainEqual({ name: field, reason: expect.stringMatching(reason) });
    expect(await everything()).toEqual(before);
  });
});

describe('cursors', () => {
  it('open only on the list that issued them, for callers without platform-wide read too', async () => {
    const viewer = client(cloud.url, await cloud.mintToken({ sub: unique('viewer') }));
    await viewer.get('/api/v1/users/me');
    for (const { project } of [fixture, other]) {
      await create(admin, '/api/v1/roles/bind', {
        role: 'viewer',
        subject: { kind: 'user', id: (await viewer.get('/api/v1/users/me')).body.id },
        scope: { kind: 'project', project_id: project.id },
      });
    }
    const { next_cursor } = (await viewer.get('/api/v1/clusters?limit=1')).body;
    expect(next_cursor).toEqual(expect.any(String));
    const before = await everything();
    const reply = await viewer.get(`/api/v1/projects?cursor=${next_cursor}`);
    expect(reply.status, reply.text).toBe(400);
    expect(reply.body.type).toBe('https://slipway.dev/problems/invalid-cursor');
    expect(await everything()).toEqual(before);
  });
});

describe('tokens', () => {
  it.each([
    ['no token', undefined],
    ['garbage', 'not-a-jwt'],
  ])('%s gets 401 before any handler runs', async (_name, token) => {
    const before = await everything();
    const reply = await client(cloud.url, token).post('/api/v1/projects', bodies.project());
    expect(reply.status).toBe(401);
    expect(await everything()).toEqual(before);
  });

  it('refuses a valid token whose subject is too long to be an identity (never truncated into another user)', async () => {
    const before = await everything();
    const long = `root${'x'.repeat(300)}`;
    const reply = await client(cloud.url, await cloud.mintToken({ sub: long, groups: ['platform-admins'] })).post(
      '/api/v1/projects',
      bodies.project(),
    );
    expect(reply.status).toBe(401);
    expect(reply.body.type).toBe('https://slipway.dev/problems/unauthorized');
    expect(await everything()).toEqual(before);
  });

  it('refuses alg none, a foreign key, an expired token and a wrong audience', async () => {
    const good = await cloud.mintToken({ sub: 'mallory', groups: ['platform-admins'] });
    const [header, payload] = good.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'root' })).toString('base64url')}.${good.split('.')[2]}`;
    const expired = await cloud.mintToken({ sub: 'mallory', groups: ['platform-admins'], ttlSeconds: -120 });
    const otherAudience = await cloud.mintToken({
      sub: 'mallory',
      groups: ['platform-admins'],
      audience: 'someone-else',
    });
    const foreign = await cloud.mintForeignToken({ sub: 'mallory', groups: ['platform-admins'] });
    for (const token of [none, tampered, expired, otherAudience, foreign]) {
      const reply = await client(cloud.url, token).post('/api/v1/projects', bodies.project());
      expect(reply.status).toBe(401);
    }
    expect((await admin.get('/api/v1/users?limit=100')).body.items.map((u: { id: string }) => u.id)).not.toContain(
      'mallory',
    );
  });
});
