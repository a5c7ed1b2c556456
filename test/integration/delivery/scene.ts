/**
 * A delivery scene on the local cloud: a project with an app, a `dev` and a protected `prod`
 * environment on the simulated cluster, a developer who deploys and two release managers who
 * approve. Everything goes through the HTTP API, as a platform team would set it up.
 */
import { expect } from 'vitest';
import { type Client, client, eventually, type Reply } from '../client.ts';
import { startTestCloud, type TestCloud, type TestCloudOptions } from '../harness.ts';
import { bodies, create, unique } from '../seed.ts';

export const IMAGE_REPOSITORY = 'registry.example.com/shop/api';

/** Waits of the deploy and rollback workflows shortened by the interpreter's overrides (the ASL is unchanged). */
const quick = {
  waitTimeOverrides: { WaitForLock: 100, WaitForRollout: 50, WaitForRestore: 50 },
  retryIntervalOverrides: { Apply: 20, CheckRollout: 20, RestorePrevious: 20, CheckRestore: 20 },
};

export const quickDelivery: NonNullable<TestCloudOptions['delivery']> = {
  workflowOverrides: { deploy: quick, rollback: quick },
  busBackoff: { initialMs: 20, maxMs: 100 },
  kubernetes: { podStartMs: 30, badImageFailAfterMs: 300 },
};

export interface Scene {
  cloud: TestCloud;
  admin: Client;
  developer: Client;
  approvers: [Client, Client];
  project: { id: string };
  app: { id: string; name: string };
  cluster: { id: string };
  team: { id: string };
}

export async function startScene(delivery: TestCloudOptions['delivery'] = {}): Promise<Scene> {
  const cloud = await startTestCloud({ delivery: { ...quickDelivery, ...delivery } });
  const as = async (sub: string, groups: string[] = []) => {
    const api = client(cloud.url, await cloud.mintToken({ sub, groups }));
    expect((await api.get('/api/v1/users/me')).status).toBe(200); // registers the user
    return api;
  };
  const admin = await as('root', ['platform-admins']);
  const developer = await as('dev-alice');
  const approvers: [Client, Client] = [await as('rm-bob'), await as('rm-carol')];

  const project = await create(admin, '/api/v1/projects', bodies.project());
  const sim = cloud.services.kubernetes;
  const cluster = await create(admin, '/api/v1/clusters', {
    name: unique('sim'),
    region: 'us-east-1',
    api_server_url: sim.url,
    ca_data: sim.caData,
    auth: { mode: 'token', token_secret_arn: sim.tokenSecretArn },
  });
  const app = await create(admin, '/api/v1/apps', { ...bodies.app(project.id), image_repository: IMAGE_REPOSITORY });
  const team = await create(admin, '/api/v1/teams', bodies.team());
  for (const sub of ['rm-bob', 'rm-carol']) await admin.put(`/api/v1/teams/${team.id}/members/${sub}`, undefined);
  await create(admin, '/api/v1/roles/bind', {
    role: 'developer',
    subject: { kind: 'user', id: 'dev-alice' },
    scope: { kind: 'project', project_id: project.id },
  });
  await create(admin, '/api/v1/roles/bind', {
    role: 'viewer',
    subject: { kind: 'team', id: team.id },
    scope: { kind: 'project', project_id: project.id },
  });
  await create(admin, `/api/v1/apps/${app.id}/envs`, { name: 'dev', cluster_id: cluster.id, namespace: 'shop-dev' });
  await create(admin, `/api/v1/apps/${app.id}/envs`, {
    name: 'prod',
    cluster_id: cluster.id,
    namespace: 'shop-prod',
    order: 2,
    protection: {
      requires_approval: true,
      approver_teams: [team.id],
      minimum_approvals: 1,
      prevent_self_approval: true,
      approval_timeout_minutes: 60,
    },
  });
  return { cloud, admin, developer, approvers, project, app, cluster, team };
}

export async function deploy(api: Client, appId: string, body: Record<string, unknown>): Promise<Reply> {
  return api.post(`/api/v1/apps/${appId}/deploy`, body);
}

const FINAL = ['succeeded', 'failed', 'rolled_back', 'rejected', 'expired'];

/** Polls a deployment's status until `done` holds (default: a final state). */
export async function statusWhen(
  api: Client,
  id: string,
  done: (status: { state: string } & Record<string, unknown>) => boolean = (s) => FINAL.includes(s.state),
  deadlineMs = 20_000,
) {
  return eventually(async () => {
    const reply = await api.get(`/api/v1/deployments/${id}/status`);
    expect(reply.status).toBe(200);
    if (!done(reply.body)) throw new Error(`deployment ${id} is ${reply.body.state}`);
    return reply.body;
  }, deadlineMs);
}

export const stepNames = (status: { steps: { state: string }[] }) => status.steps.map((s) => s.state);
