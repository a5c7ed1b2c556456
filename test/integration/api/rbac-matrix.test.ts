import { randomUUID } from 'node:crypto';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAction, readChatApps, send, signedCallback } from '../../../infra/local/chat-apps.ts';
import { routeKey, routes } from '../../../infra/manifest.ts';
import { Access, type Grant } from '../../../shared/auth/access.ts';
import type { ChatApps } from '../../../shared/chat/apps.ts';
import { encryptWeCom, wecomSignature } from '../../../shared/chat/verify/wecom.ts';
import type { ChatKind } from '../../../shared/notify/channels.ts';
import { type Client, client, eventually } from '../client.ts';
import { quickDelivery, statusWhen } from '../delivery/scene.ts';
import type { TestCloud } from '../harness.ts';
import { githubHeaders, githubPush } from '../hooks/payloads.ts';
import { adminSession, bodies, create, unique, world } from '../seed.ts';

/**
 * Every route × every kind of caller, with the status each must get. The expectations come from
 * the rules below (what each route needs, on which scope), not from hand-picked cells:
 * - anonymous → 401 on every non-public route;
 * - allowed → the route's success status;
 * - not allowed but can read the object → 403; cannot even read it → 404 (existence not revealed);
 * - creates and platform-wide actions that name no readable object → 403.
 * Deploys, rollbacks and approvals act on environments of P's app placed on the simulated cluster,
 * so the workflows they start really run (test/integration/delivery/scene.ts).
 */

type Persona =
  | 'anonymous'
  | 'nobody'
  | 'viewer'
  | 'developer'
  | 'maintainer'
  | 'admin'
  | 'other-project'
  | 'platform-admin';
const personas: Persona[] = [
  'anonymous',
  'nobody',
  'viewer',
  'developer',
  'maintainer',
  'admin',
  'other-project',
  'platform-admin',
];

/** Role each persona holds on project P (other-project: maintainer on project Q). */
const roleOnP: Partial<Record<Persona, string>> = {
  viewer: 'viewer',
  developer: 'developer',
  maintainer: 'maintainer',
  admin: 'admin',
};

type Level = 'viewer' | 'developer' | 'maintainer' | 'admin';
const rank: Record<Level, number> = { viewer: 1, developer: 2, maintainer: 3, admin: 4 };

/** What a route needs: a role level on project P, or on the platform, or any binding anywhere. */
type Need =
  | { on: 'P'; level: Level }
  | { on: 'platform'; visibleTo: 'anyone-bound' | 'P-readers' | 'nobody' }
  | { on: 'anywhere'; object?: true }
  | { on: 'public' }
  | { on: 'authenticated' };

interface Cell {
  path: string;
  body?: unknown;
  /** Sent as is: a chat platform's signed bytes. */
  raw?: string;
  headers?: Record<string, string>;
}

interface RouteCase {
  need: Need;
  success: number;
  /** Builds a fresh target for one call (a new app to delete, a fresh ETag, ...). */
  setup: (persona: Persona) => Promise<Cell>;
}

let cloud: TestCloud;
let admin: Client;
const callers = {} as Record<Persona, Client>;
let P: Awaited<ReturnType<typeof world>>;
let Q: Awaited<ReturnType<typeof world>>;
let team: { id: string };

const etag = async (path: string) => ({ 'if-match': (await admin.get(path)).headers.get('etag') ?? '' });

function expected(need: Need, persona: Persona, success: number): number {
  if (need.on === 'public') return success;
  if (persona === 'anonymous') return 401;
  if (need.on === 'authenticated' || persona === 'platform-admin') return success;
  const bound = persona !== 'nobody';
  if (need.on === 'anywhere') return bound ? success : need.object ? 404 : 403;
  if (need.on === 'platform') {
    const canSee =
      need.visibleTo === 'anyone-bound' ? bound : need.visibleTo === 'P-readers' ? persona in roleOnP : false;
    return canSee ? 403 : need.visibleTo === 'nobody' ? 403 : 404;
  }
  const role = roleOnP[persona] as Level | undefined;
  if (!role) return 404;
  return rank[role] >= rank[need.level] ? success : 403;
}

const v1 = '/api/v1';

/** A chat link of the caller's: a code, sent from a fresh Slack user as Slack would send it. */
let chatApps: ChatApps;
async function chatLinkOf(api: Client): Promise<string> {
  const user = unique('U');
  const { code } = (await api.post(`${v1}/users/me/chat-links`, {})).body;
  const sent = await send(cloud.url, chatCell('slack', { kind: 'command', text: `link ${code}` }, user));
  expect(sent.text).toMatch(/Linked/);
  const links = (await api.get(`${v1}/users/me/chat-links`)).body.items as { id: string; user: string }[];
  return links.find((l) => l.user === user)?.id ?? '';
}
const chatCell = (platform: ChatKind, action: LocalAction, user = unique('U')) =>
  signedCallback(chatApps, platform, { user, action });
const chatRoute = (platform: ChatKind, action: LocalAction): RouteCase => ({
  need: { on: 'public' },
  success: 200,
  setup: async () => {
    const { path, headers, body } = chatCell(platform, action);
    return { path, headers, ...(body === undefined ? {} : { raw: body }) };
  },
});
const help: LocalAction = { kind: 'command', text: 'help' };

const cases: Record<string, RouteCase> = {
  'GET /api/v1/health': { need: { on: 'public' }, success: 200, setup: async () => ({ path: `${v1}/health` }) },
  'GET /api/v1/openapi.json': {
    need: { on: 'public' },
    success: 200,
    setup: async () => ({ path: `${v1}/openapi.json` }),
  },
  'GET /docs': { need: { on: 'public' }, success: 200, setup: async () => ({ path: '/docs' }) },

  'GET /api/v1/projects': {
    need: { on: 'authenticated' },
    success: 200,
    setup: async () => ({ path: `${v1}/projects` }),
  },
  'POST /api/v1/projects': {
    need: { on: 'platform', visibleTo: 'nobody' },
    success: 201,
    setup: async () => ({ path: `${v1}/projects`, body: bodies.project() }),
  },
  'GET /api/v1/projects/{id}': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/projects/${P.project.id}` }),
  },
  'PUT /api/v1/projects/{id}': {
    need: { on: 'P', level: 'maintainer' },
    success: 200,
    setup: async () => ({
      path: `${v1}/projects/${P.project.id}`,
      body: { description: 'put' },
      headers: await etag(`${v1}/projects/${P.project.id}`),
    }),
  },
  'PATCH /api/v1/projects/{id}': {
    need: { on: 'P', level: 'maintainer' },
    success: 200,
    setup: async () => ({
      path: `${v1}/projects/${P.project.id}`,
      body: { description: 'patch' },
      headers: await etag(`${v1}/projects/${P.project.id}`),
    }),
  },
  // Only platform admins delete projects: a project-scoped admin binding covers what is inside it.
  'DELETE /api/v1/projects/{id}': {
    need: { on: 'P', level: 'admin' },
    success: 204,
    setup: async (persona) => {
      // A fresh, empty project with the persona's role on it (the fixture project must survive).
      const fresh = await create(admin, `${v1}/projects`, bodies.project());
      const role = roleOnP[persona];
      if (role) await bind(persona, role, { kind: 'project', project_id: fresh.id });
      return { path: `${v1}/projects/${fresh.id}`, headers: { 'if-match': '"v1"' } };
    },
  },

  'GET /api/v1/apps': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/apps?project_id=${P.project.id}` }),
  },
  'POST /api/v1/apps': {
    need: { on: 'P', level: 'maintainer' },
    success: 201,
    setup: async () => ({ path: `${v1}/apps`, body: bodies.app(P.project.id) }),
  },
  'GET /api/v1/apps/{id}': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/apps/${P.app.id}` }),
  },
  'PUT /api/v1/apps/{id}': {
    need: { on: 'P', level: 'developer' },
    success: 200,
    setup: async () => {
      const { project_id: _p, name: _n, ...changes } = bodies.app(P.project.id);
      // A replace clears what it leaves out: P's app keeps building on the simulated cluster.
      const body = { ...changes, build_cluster_id: simulatedCluster.id };
      return { path: `${v1}/apps/${P.app.id}`, body, headers: await etag(`${v1}/apps/${P.app.id}`) };
    },
  },
  'PATCH /api/v1/apps/{id}': {
    need: { on: 'P', level: 'developer' },
    success: 200,
    setup: async () => ({
      path: `${v1}/apps/${P.app.id}`,
      body: { description: 'x' },
      headers: await etag(`${v1}/apps/${P.app.id}`),
    }),
  },
  'DELETE /api/v1/apps/{id}': {
    need: { on: 'P', level: 'maintainer' },
    success: 204,
    setup: async () => ({
      path: `${v1}/apps/${(await create(admin, `${v1}/apps`, bodies.app(P.project.id))).id}`,
      headers: { 'if-match': '"v1"' },
    }),
  },
  'GET /api/v1/apps/{id}/envs': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/apps/${P.app.id}/envs` }),
  },
  'POST /api/v1/apps/{id}/envs': {
    need: { on: 'P', level: 'maintainer' },
    success: 201,
    setup: async () => ({ path: `${v1}/apps/${P.app.id}/envs`, body: bodies.env(P.cluster.id) }),
  },
  'GET /api/v1/apps/{id}/envs/{env}': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/apps/${P.app.id}/envs/prod` }),
  },
  'PATCH /api/v1/apps/{id}/envs/{env}': {
    need: { on: 'P', level: 'maintainer' },
    success: 200,
    setup: async () => ({
      path: `${v1}/apps/${P.app.id}/envs/prod`,
      body: { namespace: unique('ns') },
      headers: await etag(`${v1}/apps/${P.app.id}/envs/prod`),
    }),
  },
  'DELETE /api/v1/apps/{id}/envs/{env}': {
    need: { on: 'P', level: 'maintainer' },
    success: 204,
    setup: async () => {
      const env = await create(admin, `${v1}/apps/${P.app.id}/envs`, bodies.env(P.cluster.id));
      return { path: `${v1}/apps/${P.app.id}/envs/${env.name}`, headers: { 'if-match': '"v1"' } };
    },
  },

  // Everyone may ask: the list holds only the environments the caller can read (none for nobody).
  'GET /api/v1/environments': {
    need: { on: 'authenticated' },
    success: 200,
    setup: async () => ({ path: `${v1}/environments` }),
  },
  'GET /api/v1/clusters': { need: { on: 'anywhere' }, success: 200, setup: async () => ({ path: `${v1}/clusters` }) },
  'POST /api/v1/clusters': {
    need: { on: 'platform', visibleTo: 'nobody' },
    success: 201,
    setup: async () => ({ path: `${v1}/clusters`, body: bodies.cluster() }),
  },
  'GET /api/v1/clusters/{id}': {
    need: { on: 'anywhere', object: true },
    success: 200,
    setup: async () => ({ path: `${v1}/clusters/${P.cluster.id}` }),
  },
  'PATCH /api/v1/clusters/{id}': {
    need: { on: 'platform', visibleTo: 'anyone-bound' },
    success: 200,
    setup: async () => ({
      path: `${v1}/clusters/${P.cluster.id}`,
      body: { description: 'x' },
      headers: await etag(`${v1}/clusters/${P.cluster.id}`),
    }),
  },
  'DELETE /api/v1/clusters/{id}': {
    need: { on: 'platform', visibleTo: 'anyone-bound' },
    success: 204,
    setup: async () => ({
      path: `${v1}/clusters/${(await create(admin, `${v1}/clusters`, bodies.cluster())).id}`,
      headers: { 'if-match': '"v1"' },
    }),
  },

  'GET /api/v1/users': { need: { on: 'anywhere' }, success: 200, setup: async () => ({ path: `${v1}/users` }) },
  'GET /api/v1/users/me': {
    need: { on: 'authenticated' },
    success: 200,
    setup: async () => ({ path: `${v1}/users/me` }),
  },
  'POST /api/v1/users/me/chat-links': {
    need: { on: 'authenticated' },
    success: 200,
    setup: async () => ({ path: `${v1}/users/me/chat-links`, body: {} }),
  },
  'GET /api/v1/users/me/chat-links': {
    need: { on: 'authenticated' },
    success: 200,
    setup: async () => ({ path: `${v1}/users/me/chat-links` }),
  },
  'DELETE /api/v1/users/me/chat-links/{link}': {
    need: { on: 'authenticated' },
    success: 204,
    setup: async (persona) => ({
      path: `${v1}/users/me/chat-links/${persona === 'anonymous' ? `lnk_${'0'.repeat(26)}` : await chatLinkOf(callers[persona])}`,
    }),
  },
  'DELETE /api/v1/users/{sub}/chat-links/{link}': {
    need: { on: 'platform', visibleTo: 'nobody' },
    success: 204,
    setup: async () => {
      const sub = unique('linked');
      const link = await chatLinkOf(client(cloud.url, await cloud.mintToken({ sub })));
      return { path: `${v1}/users/${sub}/chat-links/${link}` };
    },
  },
  'GET /api/v1/teams': { need: { on: 'anywhere' }, success: 200, setup: async () => ({ path: `${v1}/teams` }) },
  'POST /api/v1/teams': {
    need: { on: 'platform', visibleTo: 'nobody' },
    success: 201,
    setup: async () => ({ path: `${v1}/teams`, body: bodies.team() }),
  },
  'GET /api/v1/teams/{id}': {
    need: { on: 'anywhere', object: true },
    success: 200,
    setup: async () => ({ path: `${v1}/teams/${team.id}` }),
  },
  'DELETE /api/v1/teams/{id}': {
    need: { on: 'platform', visibleTo: 'anyone-bound' },
    success: 204,
    setup: async () => ({
      path: `${v1}/teams/${(await create(admin, `${v1}/teams`, bodies.team())).id}`,
      headers: { 'if-match': '"v1"' },
    }),
  },
  'GET /api/v1/teams/{id}/members': {
    need: { on: 'anywhere', object: true },
    success: 200,
    setup: async () => ({ path: `${v1}/teams/${team.id}/members` }),
  },
  'PUT /api/v1/teams/{id}/members/{userId}': {
    need: { on: 'platform', visibleTo: 'anyone-bound' },
    success: 201,
    setup: async () => {
      const sub = unique('member');
      await client(cloud.url, await cloud.mintToken({ sub })).get(`${v1}/users/me`);
      return { path: `${v1}/teams/${team.id}/members/${sub}` };
    },
  },
  'DELETE /api/v1/teams/{id}/members/{userId}': {
    need: { on: 'platform', visibleTo: 'anyone-bound' },
    success: 204,
    setup: async () => {
      const sub = unique('member');
      await client(cloud.url, await cloud.mintToken({ sub })).get(`${v1}/users/me`);
      await admin.put(`${v1}/teams/${team.id}/members/${sub}`, undefined);
      return { path: `${v1}/teams/${team.id}/members/${sub}` };
    },
  },
  'GET /api/v1/roles': { need: { on: 'authenticated' }, success: 200, setup: async () => ({ path: `${v1}/roles` }) },
  'GET /api/v1/bindings': { need: { on: 'anywhere' }, success: 200, setup: async () => ({ path: `${v1}/bindings` }) },
  'POST /api/v1/roles/bind': {
    need: { on: 'P', level: 'maintainer' },
    success: 201,
    setup: async () => ({
      path: `${v1}/roles/bind`,
      body: {
        role: 'viewer',
        subject: { kind: 'team', id: (await create(admin, `${v1}/teams`, bodies.team())).id },
        scope: { kind: 'project', project_id: P.project.id },
      },
    }),
  },
  'DELETE /api/v1/bindings/{id}': {
    need: { on: 'P', level: 'maintainer' },
    success: 204,
    setup: async () => {
      const target = await create(admin, `${v1}/teams`, bodies.team());
      const binding = await create(admin, `${v1}/roles/bind`, {
        role: 'viewer',
        subject: { kind: 'team', id: target.id },
        scope: { kind: 'project', project_id: P.project.id },
      });
      return { path: `${v1}/bindings/${binding.id}` };
    },
  },

  'POST /api/v1/apps/{id}/deploy': {
    need: { on: 'P', level: 'developer' },
    success: 202,
    setup: async () => ({ path: `${v1}/apps/${P.app.id}/deploy`, body: { env: delivery.deployEnv, image: '1.0.1' } }),
  },
  'GET /api/v1/deployments': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/deployments?app_id=${P.app.id}` }),
  },
  'POST /api/v1/deployments': {
    need: { on: 'P', level: 'developer' },
    success: 202,
    setup: async () => ({
      path: `${v1}/deployments`,
      body: { app_id: P.app.id, env: delivery.deployEnv, image: '1.0.2' },
    }),
  },
  'GET /api/v1/deployments/{id}': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/deployments/${delivery.deployment}` }),
  },
  'GET /api/v1/deployments/{id}/status': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/deployments/${delivery.deployment}/status` }),
  },
  // Cancelling ends a deployment: who may cancel gets a fresh waiting one; the others try the shared one.
  'POST /api/v1/deployments/{id}/cancel': {
    need: { on: 'P', level: 'developer' },
    success: 200,
    setup: async (persona) => ({
      path: `${v1}/deployments/${
        expected({ on: 'P', level: 'developer' }, persona, 200) === 200
          ? (await waitingDeployment()).deployment
          : delivery.waiting
      }/cancel`,
      body: {},
    }),
  },
  'GET /api/v1/apps/{id}/envs/{env}/releases': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/apps/${P.app.id}/envs/${delivery.releasedEnv}/releases` }),
  },
  // The released environment has two good releases: a rollback always has an earlier one to go to.
  'POST /api/v1/rollbacks': {
    need: { on: 'P', level: 'developer' },
    success: 202,
    setup: async () => ({ path: `${v1}/rollbacks`, body: { app_id: P.app.id, env: delivery.releasedEnv } }),
  },
  // What runs in the released environment goes to the deploy environment (deployment.create there).
  'POST /api/v1/apps/{id}/promote': {
    need: { on: 'P', level: 'developer' },
    success: 202,
    setup: async () => ({
      path: `${v1}/apps/${P.app.id}/promote`,
      body: { from: delivery.releasedEnv, to: delivery.deployEnv },
    }),
  },
  'GET /api/v1/approvals': {
    need: { on: 'authenticated' },
    success: 200,
    setup: async () => ({ path: `${v1}/approvals` }),
  },
  'GET /api/v1/approvals/{id}': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/approvals/${delivery.approval}` }),
  },
  // The gates have no approver teams: approval.decide decides, which only admins hold (not maintainers).
  'POST /api/v1/approvals/{id}/approve': {
    need: { on: 'P', level: 'admin' },
    success: 200,
    setup: async (persona) => ({ path: `${v1}/approvals/${await approvalFor(persona)}/approve`, body: {} }),
  },
  'POST /api/v1/approvals/{id}/reject': {
    need: { on: 'P', level: 'admin' },
    success: 200,
    setup: async (persona) => ({ path: `${v1}/approvals/${await approvalFor(persona)}/reject`, body: {} }),
  },

  'GET /api/v1/audit': {
    need: { on: 'P', level: 'maintainer' },
    success: 200,
    setup: async () => ({ path: `${v1}/audit?project_id=${P.project.id}` }),
  },
  'GET /api/v1/audit/verify': {
    need: { on: 'P', level: 'maintainer' },
    success: 200,
    setup: async () => {
      await auditProjectP();
      return { path: `${v1}/audit/verify?subject=project/${P.project.id}` };
    },
  },
  'POST /api/v1/audit/checkpoints': {
    need: { on: 'platform', visibleTo: 'nobody' },
    success: 202,
    setup: async () => ({ path: `${v1}/audit/checkpoints`, body: {} }),
  },
  'GET /api/v1/audit/checkpoints/latest': {
    need: { on: 'platform', visibleTo: 'nobody' },
    success: 200,
    setup: async () => {
      checkpointed ??= cloud.services.tick('audit-checkpoint'); // the first one: there is always something new
      await checkpointed;
      return { path: `${v1}/audit/checkpoints/latest` };
    },
  },

  // Every role holds metrics.read (viewer and up): outside P the metrics are missing (404), never 403.
  'GET /api/v1/metrics/dora': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/metrics/dora?project_id=${P.project.id}&interval=week` }),
  },
  'GET /api/v1/metrics/dora.svg': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/metrics/dora.svg?app_id=${P.app.id}&env=prod` }),
  },

  // P's app builds on the simulated cluster (setUpDelivery): a build requested here really runs.
  'POST /api/v1/builds': {
    need: { on: 'P', level: 'developer' },
    success: 202,
    setup: async () => ({
      path: `${v1}/builds`,
      body: { app_id: P.app.id, commit: { sha: 'c'.repeat(40), ref: 'main' } },
    }),
  },
  'GET /api/v1/builds': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/builds?app_id=${P.app.id}` }),
  },
  'GET /api/v1/builds/{id}': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/builds/${delivery.build}` }),
  },
  // Cancelling ends a build: who may cancel gets a fresh running one; the others try the shared one.
  'POST /api/v1/builds/{id}/cancel': {
    need: { on: 'P', level: 'developer' },
    success: 200,
    setup: async (persona) => ({
      path: `${v1}/builds/${
        expected({ on: 'P', level: 'developer' }, persona, 200) === 200 ? await runningBuild() : delivery.build
      }/cancel`,
      body: {},
    }),
  },
  'GET /api/v1/builds/{id}/logs': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/builds/${delivery.build}/logs` }),
  },

  'GET /api/v1/pipelines': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/pipelines?app_id=${P.app.id}` }),
  },
  'POST /api/v1/pipelines': {
    need: { on: 'P', level: 'maintainer' },
    success: 201,
    setup: async () => ({ path: `${v1}/pipelines`, body: pipelineBody() }),
  },
  'GET /api/v1/pipelines/{id}': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/pipelines/${pipes.shared}` }),
  },
  'PUT /api/v1/pipelines/{id}': {
    need: { on: 'P', level: 'maintainer' },
    success: 200,
    setup: async () => {
      const { app_id: _a, name: _n, ...definition } = pipelineBody();
      return {
        path: `${v1}/pipelines/${pipes.shared}`,
        body: definition,
        headers: await etag(`${v1}/pipelines/${pipes.shared}`),
      };
    },
  },
  'PATCH /api/v1/pipelines/{id}': {
    need: { on: 'P', level: 'maintainer' },
    success: 200,
    setup: async () => ({
      path: `${v1}/pipelines/${pipes.shared}`,
      body: { description: 'patched' },
      headers: await etag(`${v1}/pipelines/${pipes.shared}`),
    }),
  },
  'DELETE /api/v1/pipelines/{id}': {
    need: { on: 'P', level: 'maintainer' },
    success: 204,
    setup: async () => ({
      path: `${v1}/pipelines/${(await create(admin, `${v1}/pipelines`, pipelineBody())).id}`,
      headers: { 'if-match': '"v1"' },
    }),
  },
  // Runs of the shared pipeline queue behind its blocker (waiting for an approval on its ref): they stay in progress.
  'POST /api/v1/pipelines/{id}/run': {
    need: { on: 'P', level: 'developer' },
    success: 202,
    setup: async () => ({ path: `${v1}/pipelines/${pipes.shared}/run`, body: { commit: pipelineCommit } }),
  },
  'GET /api/v1/pipelines/{id}/runs': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/pipelines/${pipes.shared}/runs` }),
  },
  'GET /api/v1/pipelines/{id}/logs': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/pipelines/${pipes.built}/logs` }),
  },
  'GET /api/v1/runs/{id}': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/runs/${pipes.queued}` }),
  },
  // Cancelling ends a run: who may cancel gets a fresh queued one; the others try the shared one.
  'POST /api/v1/runs/{id}/cancel': {
    need: { on: 'P', level: 'developer' },
    success: 200,
    setup: async (persona) => ({
      path: `${v1}/runs/${
        expected({ on: 'P', level: 'developer' }, persona, 200) === 200 ? await queuedRun() : pipes.queued
      }/cancel`,
      body: {},
    }),
  },
  'POST /api/v1/runs/{id}/retry': {
    need: { on: 'P', level: 'developer' },
    success: 202,
    setup: async () => ({ path: `${v1}/runs/${pipes.ended}/retry` }),
  },
  'GET /api/v1/apps/{id}/webhooks': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/apps/${P.app.id}/webhooks` }),
  },
  'POST /api/v1/apps/{id}/webhooks': {
    need: { on: 'P', level: 'maintainer' },
    success: 201,
    setup: async () => ({ path: `${v1}/apps/${P.app.id}/webhooks`, body: { provider: 'github' } }),
  },
  'GET /api/v1/apps/{id}/webhooks/{hook_id}': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/apps/${P.app.id}/webhooks/${hooks.shared}` }),
  },
  // Deleting ends an endpoint: who may delete gets a fresh one; the others try the shared one.
  'DELETE /api/v1/apps/{id}/webhooks/{hook_id}': {
    need: { on: 'P', level: 'maintainer' },
    success: 204,
    setup: async (persona) => ({
      path: `${v1}/apps/${P.app.id}/webhooks/${
        expected({ on: 'P', level: 'maintainer' }, persona, 204) === 204 ? (await newHook()).id : hooks.shared
      }`,
    }),
  },
  'POST /api/v1/apps/{id}/webhooks/{hook_id}/rotate': {
    need: { on: 'P', level: 'maintainer' },
    success: 200,
    setup: async () => ({ path: `${v1}/apps/${P.app.id}/webhooks/${hooks.shared}/rotate`, body: {} }),
  },
  'GET /api/v1/apps/{id}/webhooks/{hook_id}/deliveries': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/apps/${P.app.id}/webhooks/${hooks.shared}/deliveries` }),
  },
  'POST /api/v1/apps/{id}/webhooks/{hook_id}/deliveries/{delivery_id}/replay': {
    need: { on: 'P', level: 'admin' },
    success: 202,
    setup: async () => ({ path: `${v1}/apps/${P.app.id}/webhooks/${hooks.shared}/deliveries/${hooks.push}/replay` }),
  },
  // Freezes a year from now: none is in force, so the matrix's deploys pass and maintainers may edit them.
  'GET /api/v1/freezes': {
    need: { on: 'authenticated' },
    success: 200,
    setup: async () => ({ path: `${v1}/freezes` }),
  },
  'POST /api/v1/freezes': {
    need: { on: 'P', level: 'maintainer' },
    success: 201,
    setup: async () => ({ path: `${v1}/freezes`, body: freezeOf({ project_id: P.project.id }) }),
  },
  'GET /api/v1/freezes/{id}': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/freezes/${freezes.shared}` }),
  },
  'PATCH /api/v1/freezes/{id}': {
    need: { on: 'P', level: 'maintainer' },
    success: 200,
    setup: async () => ({
      path: `${v1}/freezes/${freezes.shared}`,
      body: { description: 'patched' },
      headers: await etag(`${v1}/freezes/${freezes.shared}`),
    }),
  },
  // Deleting ends a freeze: who may delete gets a fresh one; the others try the shared one.
  'DELETE /api/v1/freezes/{id}': {
    need: { on: 'P', level: 'maintainer' },
    success: 204,
    setup: async (persona) => {
      const allowed = expected({ on: 'P', level: 'maintainer' }, persona, 204) === 204;
      const id = allowed
        ? (await create(admin, `${v1}/freezes`, freezeOf({ project_id: P.project.id }))).id
        : freezes.shared;
      return { path: `${v1}/freezes/${id}`, headers: await etag(`${v1}/freezes/${id}`) };
    },
  },
  // Chat channels: project readers read them (channel.read), maintainers manage and test them (channel.manage).
  'GET /api/v1/projects/{id}/channels': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/projects/${P.project.id}/channels` }),
  },
  'POST /api/v1/projects/{id}/channels': {
    need: { on: 'P', level: 'maintainer' },
    success: 201,
    setup: async () => ({ path: `${v1}/projects/${P.project.id}/channels`, body: channelBody() }),
  },
  'GET /api/v1/projects/{id}/channels/{channel_id}': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/projects/${P.project.id}/channels/${channels.shared}` }),
  },
  'PATCH /api/v1/projects/{id}/channels/{channel_id}': {
    need: { on: 'P', level: 'maintainer' },
    success: 200,
    setup: async () => {
      const path = `${v1}/projects/${P.project.id}/channels/${channels.shared}`;
      return { path, body: { name: `patched ${unique('c')}` }, headers: await etag(path) };
    },
  },
  // Deleting ends a channel: who may delete gets a fresh one; the others try the shared one.
  'DELETE /api/v1/projects/{id}/channels/{channel_id}': {
    need: { on: 'P', level: 'maintainer' },
    success: 204,
    setup: async (persona) => {
      const id =
        expected({ on: 'P', level: 'maintainer' }, persona, 204) === 204
          ? (await create(admin, `${v1}/projects/${P.project.id}/channels`, channelBody())).id
          : channels.shared;
      const path = `${v1}/projects/${P.project.id}/channels/${id}`;
      return { path, headers: await etag(path) };
    },
  },
  // Nothing listens on the discard port: the answer is a 200 saying it was not delivered.
  'POST /api/v1/projects/{id}/channels/{channel_id}/test': {
    need: { on: 'P', level: 'maintainer' },
    success: 200,
    setup: async () => ({ path: `${v1}/projects/${P.project.id}/channels/${channels.shared}/test` }),
  },
  // Public: the signature is the authentication, whoever else the caller is.
  'POST /api/v1/hooks/{provider}/{hook_id}': {
    need: { on: 'public' },
    success: 202,
    setup: async () => {
      const body = { zen: 'Keep it logically awesome.', hook_id: 1 };
      return {
        path: `${v1}/hooks/github/${hooks.receiver.id}`,
        body,
        headers: githubHeaders('ping', JSON.stringify(body), hooks.receiver.secret),
      };
    },
  },

  'POST /api/v1/schedules': {
    need: { on: 'P', level: 'developer' },
    success: 201,
    setup: async () => ({ path: `${v1}/schedules`, body: scheduleBody() }),
  },
  'GET /api/v1/schedules': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/schedules?app_id=${P.app.id}` }),
  },
  'GET /api/v1/schedules/{id}': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/schedules/${schedules.shared}` }),
  },
  'PATCH /api/v1/schedules/{id}': {
    need: { on: 'P', level: 'developer' },
    success: 200,
    setup: async () => ({
      path: `${v1}/schedules/${schedules.shared}`,
      body: { description: 'patched' },
      headers: await etag(`${v1}/schedules/${schedules.shared}`),
    }),
  },
  'DELETE /api/v1/schedules/{id}': {
    need: { on: 'P', level: 'developer' },
    success: 204,
    setup: async (persona) => {
      const id =
        expected({ on: 'P', level: 'developer' }, persona, 204) === 204
          ? (await create(admin, `${v1}/schedules`, scheduleBody())).id
          : schedules.shared;
      return { path: `${v1}/schedules/${id}`, headers: await etag(`${v1}/schedules/${id}`) };
    },
  },
  'GET /api/v1/schedules/{id}/fires': {
    need: { on: 'P', level: 'viewer' },
    success: 200,
    setup: async () => ({ path: `${v1}/schedules/${schedules.shared}/fires` }),
  },
  // Public: the platform's signature is the authentication; an unlinked user is answered, nothing decided.
  'POST /api/v1/chat/slack/interactions': chatRoute('slack', {
    kind: 'decide',
    approvalId: `apr_${'0'.repeat(26)}`,
    decision: 'approve',
  }),
  'POST /api/v1/chat/slack/commands': chatRoute('slack', help),
  'POST /api/v1/chat/feishu/events': chatRoute('feishu', help),
  'POST /api/v1/chat/dingtalk/events': chatRoute('dingtalk', help),
  'POST /api/v1/chat/wecom/events': chatRoute('wecom', help),
  'GET /api/v1/chat/wecom/events': {
    need: { on: 'public' },
    success: 200,
    setup: async () => {
      const wecom = chatApps.wecom as NonNullable<ChatApps['wecom']>;
      const echostr = encryptWeCom(wecom.encoding_aes_key, 'echo', wecom.corp_id);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = wecomSignature(wecom.token, timestamp, '7', echostr);
      const query = new URLSearchParams({ msg_signature: signature, timestamp, nonce: '7', echostr });
      return { path: `${v1}/chat/wecom/events?${query}` };
    },
  },
};

/** A deploy of P's app scheduled for tomorrow (nothing fires during the matrix); `shared` is one of them. */
const schedules = { shared: '' };
const scheduleBody = () => ({
  app_id: P.app.id,
  env: delivery.deployEnv,
  name: unique('schedule'),
  action: { type: 'deploy', image: '1.0.2' },
  at: new Date(Date.now() + 86_400_000).toISOString(),
});

/** A chat channel of P that the matrix reads, changes and tests. */
const channels = { shared: '' };
const channelBody = () => ({ platform: 'slack', webhook_url: 'http://127.0.0.1:9/services/T0/B0/x' });

/**
 * Webhook fixtures on P's app: `shared` (rotated by the matrix) with one stored push to replay,
 * and `receiver`, whose secret the public route's cells sign with.
 */
/** A freeze a year from now on `scope`. */
const freezeOf = (scope: unknown) => {
  const start = Date.now() + 365 * 24 * 3_600_000;
  return {
    scope,
    name: unique('freeze'),
    window: {
      kind: 'one_off',
      starts_at: new Date(start).toISOString(),
      ends_at: new Date(start + 3_600_000).toISOString(),
    },
  };
};
/** P's project freeze, and freezes elsewhere for the lists to show or hide. */
const freezes = { shared: '' };
async function setUpFreezes() {
  freezes.shared = (await create(admin, `${v1}/freezes`, freezeOf({ project_id: P.project.id }))).id;
  await create(admin, `${v1}/freezes`, freezeOf({ app_id: P.app.id, env: 'prod' }));
  await create(admin, `${v1}/freezes`, freezeOf({ project_id: Q.project.id }));
  await create(admin, `${v1}/freezes`, freezeOf('platform'));
}

const hooks = { shared: '', push: '', receiver: { id: '', secret: '' } };
const newHook = async () =>
  (await create(admin, `${v1}/apps/${P.app.id}/webhooks`, { provider: 'github' })) as { id: string; secret: string };

async function setUpHooks() {
  const shared = await newHook();
  hooks.shared = shared.id;
  hooks.receiver = await newHook();
  const push = JSON.stringify(githubPush({ repo: 'https://github.com/acme/shop-api', ref: 'refs/heads/main' }));
  hooks.push = randomUUID();
  const reply = await client(cloud.url).request('POST', `${v1}/hooks/github/${shared.id}`, {
    raw: push,
    headers: githubHeaders('push', push, shared.secret, hooks.push),
  });
  expect(reply.status, reply.text).toBe(202);
}
let checkpointed: Promise<unknown> | undefined;

/**
 * Pipeline fixtures on P's app (it builds on the simulated cluster, setUpDelivery): `shared`, whose blocker run waits
 * at a protected environment's gate, so later runs on its ref stay queued; `queued`, one of those;
 * `ended`, one cancelled; `built`, a build-only pipeline that ran once (its log is there to read).
 */
const pipes = { shared: '', built: '', queued: '', ended: '' };
const pipelineCommit = { sha: 'cafe'.repeat(10), ref: 'main' };
let gatedEnv = '';
const pipelineBody = () => ({
  app_id: P.app.id,
  name: unique('pipe'),
  stages: [
    { name: 'build', type: 'build' },
    { name: 'gated', type: 'deploy', env: gatedEnv, needs: ['build'] },
  ],
});
const runOf = async (pipeline: string) =>
  (await admin.post(`${v1}/pipelines/${pipeline}/run`, { commit: pipelineCommit })).body.id as string;
const queuedRun = () => runOf(pipes.shared);
const runWhen = (id: string, done: (run: { state: string; stages: { state: string }[] }) => boolean) =>
  eventually(async () => {
    const run = (await admin.get(`${v1}/runs/${id}`)).body;
    if (!done(run)) throw new Error(`run ${id} is ${run.state}`);
    return run;
  }, 20_000);

async function setUpPipelines() {
  gatedEnv = await simulatedEnv({
    requires_approval: true,
    approver_teams: [],
    minimum_approvals: 1,
    prevent_self_approval: true,
    approval_timeout_minutes: 60,
  });
  pipes.shared = (await create(admin, `${v1}/pipelines`, pipelineBody())).id;
  pipes.built = (
    await create(admin, `${v1}/pipelines`, {
      app_id: P.app.id,
      name: unique('built'),
      stages: [{ name: 'build', type: 'build' }],
    })
  ).id;
  const blocker = await runOf(pipes.shared);
  const built = await runOf(pipes.built);
  await runWhen(blocker, (run) => run.stages[1]?.state === 'running');
  await runWhen(built, (run) => run.state === 'succeeded');
  pipes.queued = await queuedRun();
  pipes.ended = await queuedRun();
  await admin.post(`${v1}/runs/${pipes.ended}/cancel`, {});
}

/** A build of P's app that never ends by itself: the simulated builder hangs with a `:hang` image. */
async function runningBuild(): Promise<string> {
  process.env.SLIPWAY_BUILD_IMAGE = 'moby/buildkit:hang';
  try {
    const { body } = await admin.post(`${v1}/builds`, {
      app_id: P.app.id,
      commit: { sha: 'd'.repeat(40), ref: 'main' },
    });
    await eventually(async () => expect((await admin.get(`${v1}/builds/${body.id}`)).body.state).toBe('running'));
    return body.id;
  } finally {
    delete process.env.SLIPWAY_BUILD_IMAGE;
  }
}

/** Gives project P an audit chain once: the auditor called with a change event, as the audit rule would. */
let auditedP: Promise<unknown> | undefined;
function auditProjectP() {
  auditedP ??= import('../../../functions/auditor/handler.ts').then(({ handler }) =>
    handler({
      version: '0',
      id: randomUUID(),
      'detail-type': 'Project Updated',
      source: 'slipway.catalog',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'eu-west-1',
      resources: [],
      detail: {
        id: ulid(),
        time: new Date().toISOString(),
        actor: 'root',
        subject: `project/${P.project.id}`,
        project_id: P.project.id,
        data: { id: P.project.id, changes: [] },
      },
    }),
  );
  return auditedP;
}

/** Delivery fixtures on P's app: environments on the simulated cluster, a deployment, a pending approval. */
const delivery = { deployEnv: '', releasedEnv: '', deployment: '', approval: '', waiting: '', build: '' };
let simulatedCluster: { id: string };

const simulatedEnv = async (protection?: Record<string, unknown>) =>
  (
    await create(admin, `${v1}/apps/${P.app.id}/envs`, {
      ...bodies.env(simulatedCluster.id),
      ...(protection ? { protection } : {}),
    })
  ).name as string;

/** A deploy that reaches the gate of a fresh protected environment (one per gate: a waiting deploy holds its lock). */
async function pendingApproval(): Promise<string> {
  return (await waitingDeployment()).approval;
}

async function waitingDeployment(): Promise<{ deployment: string; approval: string }> {
  const env = await simulatedEnv({
    requires_approval: true,
    approver_teams: [],
    minimum_approvals: 1,
    prevent_self_approval: true,
    approval_timeout_minutes: 60,
  });
  const reply = await admin.post(`${v1}/apps/${P.app.id}/deploy`, { env, image: '2.0.0' });
  const status = await statusWhen(admin, reply.body.id, (s) => s.state === 'waiting_for_approval');
  return { deployment: reply.body.id, approval: (status.approval as { id: string }).id };
}

/** Deciding closes an approval: who may decide gets a fresh one; the others try the shared one they cannot change. */
const approvalFor = async (persona: Persona) =>
  expected({ on: 'P', level: 'admin' }, persona, 200) === 200 ? pendingApproval() : delivery.approval;

/** Two deploys that succeed (queued together: the lock runs them in turn), so the environment has a rollback target. */
async function releasedEnv(): Promise<string> {
  const env = await simulatedEnv();
  const ids: string[] = [];
  for (const image of ['1.0.0', '1.1.0'])
    ids.push((await admin.post(`${v1}/apps/${P.app.id}/deploy`, { env, image })).body.id);
  for (const id of ids) expect((await statusWhen(admin, id)).state).toBe('succeeded');
  delivery.deployment = ids[1] as string;
  return env;
}

async function setUpDelivery() {
  const sim = cloud.services.kubernetes;
  simulatedCluster = await create(admin, `${v1}/clusters`, {
    ...bodies.cluster(),
    api_server_url: sim.url,
    ca_data: sim.caData,
    auth: { mode: 'token', token_secret_arn: sim.tokenSecretArn },
  });
  let shared: { deployment: string; approval: string };
  [delivery.deployEnv, delivery.releasedEnv, shared] = await Promise.all([
    simulatedEnv(),
    releasedEnv(),
    waitingDeployment(),
  ]);
  delivery.approval = shared.approval;
  delivery.waiting = shared.deployment;
  const etagOfApp = await etag(`${v1}/apps/${P.app.id}`);
  await admin.patch(`${v1}/apps/${P.app.id}`, { build_cluster_id: simulatedCluster.id }, etagOfApp);
  delivery.build = (
    await admin.post(`${v1}/builds`, { app_id: P.app.id, commit: { sha: 'b'.repeat(40), ref: 'main' } })
  ).body.id;
}

const subs = {} as Record<Persona, string>;
async function bind(persona: Persona, role: string, scope: Record<string, string>) {
  await create(admin, `${v1}/roles/bind`, { role, subject: { kind: 'user', id: subs[persona] }, scope });
}

beforeAll(async () => {
  ({ cloud, admin } = await adminSession({ delivery: quickDelivery }));
  P = await world(admin);
  Q = await world(admin);
  team = await create(admin, `${v1}/teams`, bodies.team());
  for (const persona of personas) {
    subs[persona] = unique(persona);
    const groups = persona === 'platform-admin' ? ['platform-admins'] : [];
    callers[persona] = client(
      cloud.url,
      persona === 'anonymous' ? undefined : await cloud.mintToken({ sub: subs[persona], groups }),
    );
    if (persona !== 'anonymous') await callers[persona].get(`${v1}/users/me`);
    const role = roleOnP[persona];
    if (role) await bind(persona, role, { kind: 'project', project_id: P.project.id });
  }
  await bind('other-project', 'maintainer', { kind: 'project', project_id: Q.project.id });
  await setUpDelivery();
  await setUpPipelines();
  await setUpHooks();
  schedules.shared = (await create(admin, `${v1}/schedules`, scheduleBody())).id;
  await setUpFreezes();
  chatApps = await readChatApps();
  channels.shared = (await create(admin, `${v1}/projects/${P.project.id}/channels`, channelBody())).id;
});
afterAll(() => cloud?.stop());

describe('authorization matrix', () => {
  it('covers every route in the manifest', () => {
    expect(Object.keys(cases).sort()).toEqual(routes.map(routeKey).sort());
  });

  const cells = routes.flatMap((route) => personas.map((persona) => [routeKey(route), persona] as const));
  it.each(cells)('%s as %s', async (key, persona) => {
    const spec = cases[key];
    if (!spec) throw new Error(`no case for ${key}`);
    const cell = await spec.setup(persona);
    const method = key.split(' ')[0] as string;
    const reply = await callers[persona].request(method, cell.path, {
      body: cell.body,
      headers: cell.headers,
      ...(cell.raw === undefined ? {} : { raw: cell.raw }),
    });
    expect(reply.status, reply.text).toBe(expected(spec.need, persona, spec.success));
  });
});

describe('tenants of one cluster', () => {
  it('a maintainer of Q cannot place an environment in a namespace P uses on that cluster (409, naming nobody)', async () => {
    const { namespace } = (await admin.get(`${v1}/apps/${P.app.id}/envs/prod`)).body;
    const place = (clusterId: string) =>
      callers['other-project'].post(`${v1}/apps/${Q.app.id}/envs`, {
        name: unique('env'),
        cluster_id: clusterId,
        namespace,
      });
    const refused = await place(P.cluster.id);
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('https://slipway.dev/problems/namespace-taken');
    for (const trace of [P.project.id, P.project.name, P.app.id, P.app.name]) expect(refused.text).not.toContain(trace);
    expect((await place(Q.cluster.id)).status).toBe(201);
  });
});

/**
 * Lists show only what the caller may read. For every list route and caller: each item listed is
 * one the caller can read on its own (its read by id answers 200, or for items without one, the
 * list's rule), and every item the platform admin lists that the caller can read is listed for it
 * too. Besides the matrix's callers, `app-developer` holds a role on P's app only: it can read the
 * app but not the project around it.
 */
type Lister = Exclude<Persona, 'anonymous'> | 'app-developer';
type Item = Record<string, unknown> & { id?: string };

interface ListCase {
  /** What to list as `lister`: the matrix's request, plus filters worth a look. */
  paths: () => Promise<string[]>;
  key: (item: Item) => string;
  /** Whether `lister` may read the item on its own. */
  readable: (lister: Lister, item: Item) => Promise<boolean> | boolean;
}

const listers: Lister[] = [
  ...personas.filter((p): p is Exclude<Persona, 'anonymous'> => p !== 'anonymous'),
  'app-developer',
];
const listCallers = {} as Record<Lister, Client>;
const grantsOf = {} as Record<Lister, Grant[]>;

/** Readable when the read by id answers 200 (asked once per caller and path). */
const seen = new Map<string, Promise<boolean>>();
const readsAt = (path: (item: Item) => string) => (lister: Lister, item: Item) => {
  const url = path(item);
  const key = `${lister} ${url}`;
  if (!seen.has(key))
    seen.set(
      key,
      listCallers[lister].get(url).then((r) => r.status === 200),
    );
  return seen.get(key) as Promise<boolean>;
};
/** Directories (users, roles): whoever may list them may see every entry. */
const everyEntry = () => true;
/** The path the matrix itself requests (list routes build it the same for every caller). */
const matrixPath = (route: string) => async () => [(await (cases[route] as RouteCase).setup('platform-admin')).path];

const listCases: Record<string, ListCase> = {
  'GET /api/v1/projects': {
    paths: matrixPath('GET /api/v1/projects'),
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/projects/${i.id}`),
  },
  'GET /api/v1/apps': {
    paths: async () => [`${v1}/apps`, `${v1}/apps?project_id=${P.project.id}`, `${v1}/apps?project_id=${Q.project.id}`],
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/apps/${i.id}`),
  },
  'GET /api/v1/apps/{id}/envs': {
    paths: async () => [`${v1}/apps/${P.app.id}/envs`, `${v1}/apps/${Q.app.id}/envs`],
    key: (i) => `${i.app_id}/${i.name}`,
    readable: readsAt((i) => `${v1}/apps/${i.app_id}/envs/${i.name}`),
  },
  'GET /api/v1/environments': {
    paths: async () => [
      `${v1}/environments`,
      `${v1}/environments?project_id=${P.project.id}`,
      `${v1}/environments?project_id=${Q.project.id}`,
      `${v1}/environments?cluster_id=${P.cluster.id}&tier=production`,
    ],
    key: (i) => `${(i.app as Item).id}/${i.name}`,
    readable: readsAt((i) => `${v1}/apps/${(i.app as Item).id}/envs/${i.name}`),
  },
  'GET /api/v1/clusters': {
    paths: matrixPath('GET /api/v1/clusters'),
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/clusters/${i.id}`),
  },
  'GET /api/v1/users': { paths: matrixPath('GET /api/v1/users'), key: (i) => String(i.id), readable: everyEntry },
  'GET /api/v1/teams': {
    paths: matrixPath('GET /api/v1/teams'),
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/teams/${i.id}`),
  },
  'GET /api/v1/teams/{id}/members': {
    paths: matrixPath('GET /api/v1/teams/{id}/members'),
    key: (i) => `${i.team_id}/${i.user_id}`,
    readable: readsAt((i) => `${v1}/teams/${i.team_id}`),
  },
  'GET /api/v1/roles': { paths: matrixPath('GET /api/v1/roles'), key: (i) => String(i.name), readable: everyEntry },
  // Each caller's own links: another's are never listed.
  'GET /api/v1/users/me/chat-links': {
    paths: matrixPath('GET /api/v1/users/me/chat-links'),
    key: (i) => String(i.id),
    readable: async (lister, item) => item.sub === (await listCallers[lister].get(`${v1}/users/me`)).body.id,
  },
  'GET /api/v1/bindings': {
    paths: async () => [
      `${v1}/bindings`,
      `${v1}/bindings?subject=user:${subs.viewer}`,
      `${v1}/bindings?subject=user:${subs['other-project']}`,
    ],
    key: (i) => String(i.id),
    // A binding has no read by id: it is readable where the caller holds iam.read on its scope.
    readable: (lister, i) => new Access(grantsOf[lister]).can('iam.read', String(i.scope_path)),
  },
  'GET /api/v1/deployments': {
    paths: async () => [
      `${v1}/deployments?app_id=${P.app.id}`,
      `${v1}/deployments?app_id=${P.app.id}&env=${delivery.releasedEnv}`,
      `${v1}/deployments?app_id=${Q.app.id}`,
    ],
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/deployments/${i.id}`),
  },
  'GET /api/v1/builds': {
    paths: async () => [`${v1}/builds?app_id=${P.app.id}`, `${v1}/builds?app_id=${Q.app.id}`],
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/builds/${i.id}`),
  },
  'GET /api/v1/apps/{id}/envs/{env}/releases': {
    paths: matrixPath('GET /api/v1/apps/{id}/envs/{env}/releases'),
    key: (i) => String(i.revision),
    readable: readsAt((i) => `${v1}/deployments/${i.deployment_id}`),
  },
  'GET /api/v1/approvals': {
    paths: async () => ['pending', 'approved', 'rejected'].map((state) => `${v1}/approvals?state=${state}`),
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/approvals/${i.id}`),
  },
  'GET /api/v1/audit': {
    paths: async () => [
      `${v1}/audit?project_id=${P.project.id}`,
      `${v1}/audit?project_id=${Q.project.id}`,
      `${v1}/audit?subject=project/${P.project.id}`,
    ],
    key: (i) => `${i.subject}#${i.seq}`,
    readable: readsAt((i) => `${v1}/audit?subject=${encodeURIComponent(String(i.subject))}&limit=1`),
  },
  'GET /api/v1/pipelines': {
    paths: async () => [`${v1}/pipelines?app_id=${P.app.id}`, `${v1}/pipelines?app_id=${Q.app.id}`],
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/pipelines/${i.id}`),
  },
  'GET /api/v1/pipelines/{id}/runs': {
    paths: async () => [`${v1}/pipelines/${pipes.shared}/runs`, `${v1}/pipelines/${pipes.built}/runs`],
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/runs/${i.id}`),
  },
  'GET /api/v1/apps/{id}/webhooks': {
    paths: async () => [`${v1}/apps/${P.app.id}/webhooks`, `${v1}/apps/${Q.app.id}/webhooks`],
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/apps/${i.app_id}/webhooks/${i.id}`),
  },
  'GET /api/v1/projects/{id}/channels': {
    paths: async () => [`${v1}/projects/${P.project.id}/channels`, `${v1}/projects/${Q.project.id}/channels`],
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/projects/${i.project_id}/channels/${i.id}`),
  },
  'GET /api/v1/apps/{id}/webhooks/{hook_id}/deliveries': {
    paths: async () => [`${v1}/apps/${P.app.id}/webhooks/${hooks.shared}/deliveries`],
    key: (i) => String(i.delivery_id),
    readable: readsAt((i) => `${v1}/apps/${P.app.id}/webhooks/${i.hook_id}`),
  },
  'GET /api/v1/schedules': {
    paths: async () => [
      `${v1}/schedules?app_id=${P.app.id}`,
      `${v1}/schedules?app_id=${Q.app.id}`,
      `${v1}/schedules?project_id=${P.project.id}`,
    ],
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/schedules/${i.id}`),
  },
  'GET /api/v1/schedules/{id}/fires': {
    paths: async () => [`${v1}/schedules/${schedules.shared}/fires`],
    key: (i) => String(i.fire_time),
    readable: readsAt(() => `${v1}/schedules/${schedules.shared}`),
  },
  'GET /api/v1/freezes': {
    paths: async () => [
      `${v1}/freezes`,
      `${v1}/freezes?scope=platform`,
      `${v1}/freezes?scope=project/${P.project.id}`,
      `${v1}/freezes?scope=project/${Q.project.id}`,
    ],
    key: (i) => String(i.id),
    readable: readsAt((i) => `${v1}/freezes/${i.id}`),
  },
};

/** Every page of a list, following next_cursor; undefined when the list itself is refused (and shows no items). */
async function everyPage(api: Client, path: string): Promise<Item[] | undefined> {
  const items: Item[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const reply = await api.get(
      `${path}${path.includes('?') ? '&' : '?'}limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    );
    if (reply.status !== 200) {
      expect(reply.body?.items, reply.text).toBeUndefined();
      return undefined;
    }
    items.push(...reply.body.items);
    cursor = reply.body.next_cursor;
    if (!cursor) return items;
  }
  throw new Error(`${path} has more than 50 pages`);
}

describe('lists show only what the caller may read', () => {
  beforeAll(async () => {
    for (const persona of listers) if (persona !== 'app-developer') listCallers[persona] = callers[persona];
    const sub = unique('app-developer');
    listCallers['app-developer'] = client(cloud.url, await cloud.mintToken({ sub }));
    await listCallers['app-developer'].get(`${v1}/users/me`);
    await create(admin, `${v1}/roles/bind`, {
      role: 'developer',
      subject: { kind: 'user', id: sub },
      scope: { kind: 'app', app_id: P.app.id },
    });
    for (const lister of listers) grantsOf[lister] = (await listCallers[lister].get(`${v1}/users/me`)).body.grants;
  });

  it('covers every route that answers a list', async () => {
    const lists: string[] = [];
    for (const route of routes.filter((r) => r.method === 'GET' && !r.public)) {
      const { path } = await (cases[routeKey(route)] as RouteCase).setup('platform-admin');
      if (Array.isArray((await callers['platform-admin'].get(path)).body?.items)) lists.push(routeKey(route));
    }
    expect(lists.sort()).toEqual(Object.keys(listCases).sort());
  });

  const cells = Object.keys(listCases).flatMap((route) => listers.map((lister) => [route, lister] as const));
  it.each(cells)('%s as %s', async (route, lister) => {
    const spec = listCases[route] as ListCase;
    for (const path of await spec.paths()) {
      // The admin's list first: whatever the caller's list adds later was created in between.
      const all = (await everyPage(callers['platform-admin'], path)) ?? [];
      const listed = await everyPage(listCallers[lister], path);
      // A refused list shows nothing; whether it should refuse is the matrix's own question.
      if (listed === undefined) continue;
      const keys = new Set(listed.map(spec.key));
      for (const item of listed)
        expect(await spec.readable(lister, item), `${path} shows ${spec.key(item)}`).toBe(true);
      for (const item of all) {
        if (await spec.readable(lister, item))
          expect(keys, `${path} hides ${spec.key(item)}`).toContain(spec.key(item));
      }
    }
  });
});
