import { type Client, client } from './client.ts';
import { startTestCloud } from './harness.ts';

/** Valid bodies for every resource, with a unique name per call. */
let counter = 0;
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

export const caData = Buffer.from(
  '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n',
).toString('base64');

export const bodies = {
  project: () => ({ name: unique('proj'), display_name: 'Shop', description: 'The web shop' }),
  app: (projectId: string) => ({
    project_id: projectId,
    name: unique('app'),
    repository: { provider: 'github', url: 'https://github.com/acme/shop-api', default_branch: 'main' },
    deploy: { kind: 'helm', path: 'charts/api' },
    image_repository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api',
  }),
  // A namespace per environment: two environments of one app may not share one on a cluster (ADR 12).
  env: (clusterId: string, name = unique('env')) => ({ name, cluster_id: clusterId, namespace: `shop-${name}` }),
  cluster: () => ({
    name: unique('cluster'),
    region: 'eu-west-1',
    api_server_url: 'https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com',
    ca_data: caData,
    auth: { mode: 'eks-iam', role_arn: 'arn:aws:iam::123456789012:role/slipway-deployer', eks_cluster_name: 'prod-eu' },
  }),
  team: () => ({ name: unique('team') }),
};

/** Creates a resource and fails loudly if the API refuses: setup must not hide a broken route. */
export async function create(api: Client, path: string, body: unknown) {
  const reply = await api.post(path, body);
  if (reply.status !== 201) throw new Error(`POST ${path} answered ${reply.status}: ${reply.text}`);
  return reply.body;
}

/** A project with one app, one cluster and one environment of that app on it. */
export async function world(admin: Client) {
  const project = await create(admin, '/api/v1/projects', bodies.project());
  const cluster = await create(admin, '/api/v1/clusters', bodies.cluster());
  const app = await create(admin, '/api/v1/apps', bodies.app(project.id));
  const env = await create(admin, `/api/v1/apps/${app.id}/envs`, bodies.env(cluster.id, 'prod'));
  return { project, cluster, app, env };
}

/** A local cloud for one test file, and a platform admin to set the scene with. */
export async function adminSession(options: Parameters<typeof startTestCloud>[0] = {}) {
  const cloud = await startTestCloud(options);
  const admin = client(cloud.url, await cloud.mintToken({ sub: 'root', groups: ['platform-admins'] }));
  return { cloud, admin };
}
