/**
 * A delivery world on a running local cloud, set up through the HTTP API as a platform team would:
 * a project with an app, a `dev` and a protected `prod` environment on the simulated cluster, a
 * developer who deploys and two release managers who approve. Plain code (no test runner), so the
 * end-to-end tests (scene.ts) and the bench (test/bench/delivery.ts) share it.
 */
import type { LocalCloud } from '../../../infra/local/cloud.ts';
import { type Client, client } from '../client.ts';

export const IMAGE_REPOSITORY = 'registry.example.com/shop/api';

export interface DeliveryWorld {
  admin: Client;
  developer: Client;
  approvers: [Client, Client];
  project: { id: string };
  app: { id: string; name: string };
  cluster: { id: string };
  team: { id: string };
}

let worlds = 0;

export async function deliveryWorld(cloud: Pick<LocalCloud, 'url' | 'mintToken' | 'services'>): Promise<DeliveryWorld> {
  const n = `${process.pid}-${++worlds}`;
  const as = async (sub: string, groups: string[] = []) => {
    const api = client(cloud.url, await cloud.mintToken({ sub, groups }));
    await expectOk(api.get('/api/v1/users/me'), 200); // registers the user
    return api;
  };
  const admin = await as('root', ['platform-admins']);
  const developer = await as('dev-alice');
  const approvers: [Client, Client] = [await as('rm-bob'), await as('rm-carol')];
  const create = (path: string, body: unknown) => expectOk(admin.post(path, body), 201);

  const project = await create('/api/v1/projects', { name: `shop-${n}`, display_name: 'Shop' });
  const sim = cloud.services.kubernetes;
  const cluster = await create('/api/v1/clusters', {
    name: `sim-${n}`,
    region: 'us-east-1',
    api_server_url: sim.url,
    ca_data: sim.caData,
    auth: { mode: 'token', token_secret_arn: sim.tokenSecretArn },
  });
  const app = await create('/api/v1/apps', {
    project_id: project.id,
    name: `api-${n}`,
    repository: { provider: 'github', url: 'https://github.com/acme/shop-api', default_branch: 'main' },
    deploy: { kind: 'manifests' },
    image_repository: IMAGE_REPOSITORY,
    // Its builds run as Jobs on the simulated cluster too.
    build_cluster_id: cluster.id,
  });
  const team = await create('/api/v1/teams', { name: `release-managers-${n}` });
  for (const sub of ['rm-bob', 'rm-carol'])
    await expectOk(admin.put(`/api/v1/teams/${team.id}/members/${sub}`, undefined), 201);
  await create('/api/v1/roles/bind', {
    role: 'developer',
    subject: { kind: 'user', id: 'dev-alice' },
    scope: { kind: 'project', project_id: project.id },
  });
  await create('/api/v1/roles/bind', {
    role: 'viewer',
    subject: { kind: 'team', id: team.id },
    scope: { kind: 'project', project_id: project.id },
  });
  await create(`/api/v1/apps/${app.id}/envs`, { name: 'dev', cluster_id: cluster.id, namespace: 'shop-dev' });
  await create(`/api/v1/apps/${app.id}/envs`, {
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
  return { admin, developer, approvers, project, app, cluster, team };
}

/** Setup must not hide a broken route: anything but the expected status stops it. */
async function expectOk(reply: ReturnType<Client['get']>, status: number) {
  const { status: got, body, text } = await reply;
  if (got !== status) throw new Error(`expected ${status}, got ${got}: ${text}`);
  return body;
}
