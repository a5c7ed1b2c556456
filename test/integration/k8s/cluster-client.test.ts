/**
 * The deployer's cluster port against the Kubernetes API server simulator (HTTPS, its own CA,
 * bearer tokens, server-side apply, computed rollouts), with the token or kubeconfig read by the
 * real Secrets Manager client from the local secrets service, and eks-iam roles assumed from an
 * STS simulator.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { type AwsEndpoint, startAwsEndpoint } from '../../../infra/local/aws-endpoint.ts';
import { serverCredentials } from '../../../infra/local/kubernetes/certificates.ts';
import { type KubernetesSimulator, startKubernetesSimulator } from '../../../infra/local/kubernetes/simulator.ts';
import { freePort } from '../../../infra/local/ports.ts';
import { createLocalSecrets } from '../../../infra/local/secrets.ts';
import type { ClusterTarget, RolloutStatus } from '../../../shared/k8s/cluster-client.ts';
import { renderDeployment, type WorkloadInput } from '../../../shared/k8s/workload.ts';
import { ALLOWED_LOOPBACK_ENV } from '../../../shared/net/cluster-egress.ts';

type ClusterClient = typeof import('../../../shared/k8s/cluster-client.ts');
type Credentials = typeof import('../../../shared/k8s/credentials.ts');

const region = 'eu-west-1';
const accountId = '123456789012';

let simulator: KubernetesSimulator;
let awsEndpoint: AwsEndpoint;
let sts: StsSimulator;
let client: ClusterClient;
let credentials: Credentials;
let secretArn: (name: string, value: string) => string;

beforeAll(async () => {
  simulator = await startKubernetesSimulator({ podStartMs: 60, badImageFailAfterMs: 300 });
  const secrets = createLocalSecrets({ region, accountId });
  secretArn = secrets.put;
  awsEndpoint = await startAwsEndpoint({ services: { secretsmanager: secrets.service } });
  sts = await startStsSimulator();
  Object.assign(process.env, {
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
    AWS_SECRET_ACCESS_KEY: 'local-secret',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: awsEndpoint.url,
    AWS_ENDPOINT_URL_STS: sts.url,
  });
  allowLoopback(simulator.url);
  // The modules create their SDK clients at load: only after the endpoints are in the environment.
  client = await import('../../../shared/k8s/cluster-client.ts');
  credentials = await import('../../../shared/k8s/credentials.ts');
});

afterAll(async () => {
  await simulator?.stop();
  await awsEndpoint?.close();
  await sts?.close();
});

/** Clusters may not be on loopback: the test's own servers are allowed by exact address, as the local cloud allows its simulator. */
function allowLoopback(url: string): void {
  const hosts = new Set(process.env[ALLOWED_LOOPBACK_ENV]?.split(',').filter(Boolean));
  hosts.add(new URL(url).host);
  process.env[ALLOWED_LOOPBACK_ENV] = [...hosts].join(',');
}

function tokenCluster(name: string, secret: string, where: { url: string; caData: string } = simulator): ClusterTarget {
  return {
    id: `cls_${randomUUID()}`,
    name,
    region,
    api_server_url: where.url,
    ca_data: where.caData,
    auth: { mode: 'token', token_secret_arn: secretArn(`slipway/clusters/${name}-${randomUUID()}`, secret) },
  };
}

function release(app: string, image: string, revision = 1, replicas = 2): WorkloadInput {
  return {
    app: { id: `app_${app}`, name: app, labels: { team: 'checkout' } },
    env: { name: 'staging', namespace: `shop-${app}` },
    image,
    replicas,
    deploymentId: `dep_${randomUUID()}`,
    revision,
    progressDeadlineSeconds: 600,
  };
}

/** Reads the rollout until it leaves `progressing` (or the deadline passes); answers every phase seen. */
async function followRollout(cluster: ClusterTarget, input: WorkloadInput, generation: number) {
  const seen: RolloutStatus[] = [];
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const status = await client.readRollout(cluster, input.env.namespace, input.app.name, generation);
    seen.push(status);
    if (status.phase !== 'progressing') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { phases: [...new Set(seen.map((status) => status.phase))], last: seen.at(-1) as RolloutStatus };
}

/** A second, independent client straight from the simulator's kubeconfig: what the cluster really holds. */
function inspector() {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(simulator.kubeconfig);
  return { apps: kubeConfig.makeApiClient(AppsV1Api), core: kubeConfig.makeApiClient(CoreV1Api) };
}

async function failure(promise: Promise<unknown>): Promise<Error & { status?: number }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof Error)) throw new Error('expected the call to fail');
  return error;
}

describe('applying a workload', () => {
  it('creates the namespace and the Deployment by server-side apply, owned by slipway', async () => {
    const cluster = tokenCluster('staging-eu', JSON.stringify({ token: simulator.token }));
    const input = release('web', 'ghcr.io/acme/web:1.0.0');
    const applied = await client.applyWorkload(cluster, renderDeployment(input));
    expect(applied.generation).toBe(1);
    expect(applied.resourceVersion).not.toBe('');

    const { apps, core } = inspector();
    const namespace = await core.readNamespace({ name: 'shop-web' });
    expect(namespace.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('slipway');
    const stored = await apps.readNamespacedDeployment({ name: 'web', namespace: 'shop-web' });
    expect(stored.spec?.template.spec?.containers[0]?.image).toBe('ghcr.io/acme/web:1.0.0');
    expect(stored.metadata?.managedFields?.map((entry) => [entry.manager, entry.operation])).toEqual([
      ['slipway', 'Apply'],
    ]);
  });

  it('bumps the generation when a new release is applied, and not when the same one is applied again', async () => {
    const cluster = tokenCluster('staging-eu', simulator.token);
    const first = release('api', 'ghcr.io/acme/api:1.0.0');
    const created = await client.applyWorkload(cluster, renderDeployment(first));
    const again = await client.applyWorkload(cluster, renderDeployment(first));
    expect(again.generation).toBe(created.generation);

    const next = await client.applyWorkload(cluster, renderDeployment(release('api', 'ghcr.io/acme/api:1.1.0', 2)));
    expect(next.generation).toBe(created.generation + 1);
    expect(next.resourceVersion).not.toBe(created.resourceVersion);
  });
});

describe('taking over nothing (ADR 12)', () => {
  const cluster = () => tokenCluster('shared-eu', simulator.token);

  /** A Deployment someone else made, straight on the cluster, in a namespace that exists. */
  async function foreignDeployment(namespace: string, name: string, metadata: Record<string, unknown> = {}) {
    const { apps, core } = inspector();
    await core.createNamespace({ body: { metadata: { name: namespace, labels: { owner: 'payments-team' } } } });
    return apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name, ...metadata },
        spec: {
          replicas: 1,
          selector: { matchLabels: { run: name } },
          template: {
            metadata: { labels: { run: name } },
            spec: { containers: [{ name, image: 'nginx:1.27' }] },
          },
        },
      },
    });
  }

  it('refuses to apply over a Deployment without Slipway labels, and leaves it exactly as it was', async () => {
    const before = await foreignDeployment('payments', 'web');
    const input = { ...release('web', 'ghcr.io/acme/web:2.0.0'), env: { name: 'prod', namespace: 'payments' } };
    const error = await failure(client.applyWorkload(cluster(), renderDeployment(input)));
    expect(error.name).toBe('ClusterRejected');
    expect(error.message).toBe(
      `cluster shared-eu (${simulator.url}): Deployment payments/web exists and is not managed by this environment; it was left untouched`,
    );
    const after = await inspector().apps.readNamespacedDeployment({ name: 'web', namespace: 'payments' });
    // Its rollout may still move its status (and resourceVersion); what it asked for did not change.
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    expect(after.metadata?.labels).toEqual(before.metadata?.labels);
    expect(after.spec).toEqual(before.spec);
    expect(after.spec?.template.spec?.containers[0]?.image).toBe('nginx:1.27');
    expect(after.metadata?.managedFields?.map((entry) => entry.manager)).not.toContain('slipway');
    // The state machine retries cluster faults, never this.
    expect(client.classify(cluster(), error)).toBe(error);
  });

  it('refuses the Deployment of another environment of the same app in the same namespace', async () => {
    const staging = release('orders', 'ghcr.io/acme/orders:1.0.0');
    await client.applyWorkload(cluster(), renderDeployment(staging));
    const prod = { ...release('orders', 'ghcr.io/acme/orders:6.6.6'), env: { ...staging.env, name: 'prod' } };
    expect((await failure(client.applyWorkload(cluster(), renderDeployment(prod)))).name).toBe('ClusterRejected');
    const stored = await inspector().apps.readNamespacedDeployment({
      name: 'orders',
      namespace: staging.env.namespace,
    });
    expect(stored.spec?.template.spec?.containers[0]?.image).toBe('ghcr.io/acme/orders:1.0.0');
  });

  it('adopts an unlabelled Deployment of an earlier Slipway only when the deployment it names was this environment’s', async () => {
    const earlier = 'dep_01jd0000000000000000000000';
    await foreignDeployment('legacy', 'api', {
      labels: { 'app.kubernetes.io/managed-by': 'slipway', 'app.kubernetes.io/name': 'api' },
      annotations: { 'slipway.dev/deployment-id': earlier },
    });
    const input = { ...release('api', 'ghcr.io/acme/api:3.0.0'), env: { name: 'prod', namespace: 'legacy' } };
    const asked: string[] = [];
    const refused = await failure(
      client.applyWorkload(cluster(), renderDeployment(input), async (id) => {
        asked.push(id);
        return false;
      }),
    );
    expect(refused.name).toBe('ClusterRejected');
    await client.applyWorkload(cluster(), renderDeployment(input), async (id) => id === earlier);
    expect(asked).toEqual([earlier]);
    const stored = await inspector().apps.readNamespacedDeployment({ name: 'api', namespace: 'legacy' });
    expect(stored.spec?.template.spec?.containers[0]?.image).toBe('ghcr.io/acme/api:3.0.0');
    expect(stored.metadata?.labels).toMatchObject({ 'slipway.dev/app-id': 'app_api', 'slipway.dev/env': 'prod' });
  });

  it('deploys into a namespace that exists without changing the namespace', async () => {
    const { core } = inspector();
    await core.createNamespace({ body: { metadata: { name: 'team-owned', labels: { owner: 'platform' } } } });
    const input = { ...release('cart', 'ghcr.io/acme/cart:1.0.0'), env: { name: 'prod', namespace: 'team-owned' } };
    await client.applyWorkload(cluster(), renderDeployment(input));
    const namespace = await core.readNamespace({ name: 'team-owned' });
    expect(namespace.metadata?.labels).toEqual({ owner: 'platform', 'kubernetes.io/metadata.name': 'team-owned' });
    expect(namespace.metadata?.managedFields?.map((entry) => entry.manager)).not.toContain('slipway');
  });
});

describe('reading a rollout', () => {
  it('goes from progressing to complete once every new pod is available', async () => {
    const cluster = tokenCluster('staging-eu', simulator.token);
    const input = release('cart', 'ghcr.io/acme/cart:2.0.0', 1, 3);
    const { generation } = await client.applyWorkload(cluster, renderDeployment(input));
    const { phases, last } = await followRollout(cluster, input, generation);
    expect(phases).toEqual(['progressing', 'complete']);
    expect(last).toMatchObject({ desired: 3, updated: 3, ready: 3, available: 3, observed_generation: generation });
  });

  it('fails with ProgressDeadlineExceeded when the image never gets ready', async () => {
    const cluster = tokenCluster('staging-eu', simulator.token);
    const input = release('broken', 'ghcr.io/acme/broken:bad');
    const { generation } = await client.applyWorkload(cluster, renderDeployment(input));
    const { phases, last } = await followRollout(cluster, input, generation);
    expect(phases).toEqual(['progressing', 'failed']);
    expect(last.reason).toBe('ProgressDeadlineExceeded');
    expect(last.message).toContain('exceeded its progress deadline');
  });

  it('refuses to read a Deployment that does not exist', async () => {
    const error = await failure(client.readRollout(tokenCluster('staging-eu', simulator.token), 'nowhere', 'ghost', 1));
    expect(error.name).toBe('ClusterRejected');
    expect(error.status).toBe(404);
  });
});

describe('failures, named for the state machine to retry or not', () => {
  it('a wrong token is rejected, naming the cluster', async () => {
    const cluster = tokenCluster('prod-eu', 'not-the-token');
    const error = await failure(client.applyWorkload(cluster, renderDeployment(release('web', 'ghcr.io/acme/web:1'))));
    expect(error.name).toBe('ClusterRejected');
    expect(error.status).toBe(401);
    expect(error.message).toBe(`cluster prod-eu (${simulator.url}): HTTP 401: Unauthorized`);
  });

  it('after a 401 the token is read again, so a rotated secret is picked up on the next attempt', async () => {
    const secretName = `slipway/clusters/rotated-${randomUUID()}`;
    const cluster = {
      ...tokenCluster('prod-eu', simulator.token),
      auth: { mode: 'token' as const, token_secret_arn: secretArn(secretName, 'revoked-token') },
    };
    const input = release('search', 'ghcr.io/acme/search:1.0.0');
    expect((await failure(client.applyWorkload(cluster, renderDeployment(input)))).name).toBe('ClusterRejected');
    secretArn(secretName, JSON.stringify({ token: simulator.token }));
    await expect(client.applyWorkload(cluster, renderDeployment(input))).resolves.toMatchObject({ generation: 1 });
  });

  it('a token secret that is broken JSON is refused by name, without quoting the secret', async () => {
    const cluster = tokenCluster('prod-eu', '{"token": "half-a-secret');
    const error = await failure(client.readRollout(cluster, 'shop', 'web', 1));
    expect(error.name).toBe('ClusterConfigInvalid');
    expect(error.message).toBe('The cluster token secret is not JSON with a "token" string');
  });

  it('a closed port is unreachable, at once', async () => {
    const closed = await freePort();
    const cluster = tokenCluster('prod-eu', simulator.token, {
      url: `https://127.0.0.1:${closed}`,
      caData: simulator.caData,
    });
    allowLoopback(cluster.api_server_url);
    const started = Date.now();
    const error = await failure(client.readRollout(cluster, 'shop', 'web', 1));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.name).toBe('ClusterUnreachable');
    expect(error.message).toBe(`cluster prod-eu (https://127.0.0.1:${closed}): connection refused`);
  });

  it('a server whose certificate the registered CA did not sign is unreachable (TLS), never trusted', async () => {
    const otherCa = Buffer.from((await serverCredentials()).caPem).toString('base64');
    const cluster = tokenCluster('prod-eu', simulator.token, { url: simulator.url, caData: otherCa });
    const error = await failure(client.readRollout(cluster, 'shop', 'web', 1));
    expect(error.name).toBe('ClusterUnreachable');
    expect(error.message).toBe(
      `cluster prod-eu (${simulator.url}): certificate not trusted: not signed by the registered CA`,
    );
  });

  it("a server that does not speak TLS fails the handshake, in a few words and not in OpenSSL's", async () => {
    const plain = await startTinyCluster(() => ({ status: 200, body: '' }), { tls: false });
    try {
      const cluster = tokenCluster('prod-eu', simulator.token, { url: plain.url, caData: simulator.caData });
      const error = await failure(client.readRollout(cluster, 'shop', 'web', 1));
      expect(error.name).toBe('ClusterUnreachable');
      expect(error.message).toBe(`cluster prod-eu (${plain.url}): TLS handshake failed`);
    } finally {
      await plain.close();
    }
  });

  it.each([
    [429, 'ClusterThrottled'],
    [500, 'ClusterThrottled'],
    [503, 'ClusterThrottled'],
    [403, 'ClusterRejected'],
    [409, 'ClusterRejected'],
    [422, 'ClusterRejected'],
  ])('HTTP %i is %s, with the Status message', (code, name) => {
    const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', message: `the reason for ${code}`, code });
    const error = client.classify(
      { name: 'prod-eu', api_server_url: 'https://k8s.example' },
      new ApiException(code, 'x', body, {}),
    );
    expect(error).toMatchObject({
      name,
      message: `cluster prod-eu (https://k8s.example): HTTP ${code}: the reason for ${code}`,
    });
  });
});

describe('where a cluster may be, and what of its answer reaches a deployment', () => {
  it('a host name that resolves to loopback is refused at connect, before any request', async () => {
    // The simulator's 127.0.0.1:<port> is allowed by exact address; the name that resolves to it is not.
    const url = `https://localhost:${new URL(simulator.url).port}`;
    const cluster = tokenCluster('prod-eu', simulator.token, { url, caData: simulator.caData });
    const before = simulator.requests;
    const error = await failure(client.readRollout(cluster, 'shop', 'web', 1));
    expect(error.name).toBe('ClusterConfigInvalid');
    expect(error.message).toMatch(
      new RegExp(
        `^cluster prod-eu \\(${url}\\): address not allowed: localhost resolves to (127\\.0\\.0\\.1|::1), a loopback address$`,
      ),
    );
    expect(simulator.requests).toBe(before);
  });

  it('a loopback literal in another spelling than the allowed one is refused before any connection', async () => {
    const tiny = await startTinyCluster(() => ({ status: 404, body: notFound }));
    try {
      const url = `https://[::ffff:127.0.0.1]:${new URL(tiny.url).port}`;
      const error = await failure(
        client.readRollout(tokenCluster('prod-eu', 'token', { ...tiny, url }), 'shop', 'web', 1),
      );
      expect(error.name).toBe('ClusterConfigInvalid');
      expect(error.message).toBe(`cluster prod-eu (${url}): address not allowed: ::ffff:7f00:1 is a loopback address`);
      expect(tiny.connections).toBe(0);
    } finally {
      await tiny.close();
    }
  });

  it.each([
    [
      'an HTML page',
      500,
      'text/html',
      '<html><body>db password: hunter2</body></html>',
      'ClusterThrottled',
      'Internal Server Error',
    ],
    [
      'JSON that is not a Status',
      403,
      'application/json',
      JSON.stringify({ message: 'hunter2', reason: 'hunter2' }),
      'ClusterRejected',
      'Forbidden',
    ],
    [
      'a Status of another apiVersion',
      409,
      'application/json',
      JSON.stringify({ kind: 'Status', apiVersion: 'v2', message: 'hunter2' }),
      'ClusterRejected',
      'Conflict',
    ],
    [
      'a Status whose message is not text',
      422,
      'application/json',
      JSON.stringify({ kind: 'Status', apiVersion: 'v1', message: { hunter2: true } }),
      'ClusterRejected',
      'Unprocessable Entity',
    ],
  ])('an error answered as %s shows only its HTTP status', async (_what, status, type, body, name, words) => {
    const tiny = await startTinyCluster(() => ({ status, type, body }));
    try {
      const error = await failure(client.readRollout(tokenCluster('prod-eu', 'token', tiny), 'shop', 'web', 1));
      expect(error).toMatchObject({ name, message: `cluster prod-eu (${tiny.url}): HTTP ${status}: ${words}` });
      expect(tiny.requests).toBe(1);
    } finally {
      await tiny.close();
    }
  });

  it.each([
    ['JSON it cannot parse', 'application/json', 'hunter2 is the password'],
    ['a type it cannot parse', 'application/x-hunter2', 'x'],
  ])('a success answered in %s is no Kubernetes answer, and is not quoted', async (_what, type, body) => {
    const tiny = await startTinyCluster(() => ({ status: 200, type, body }));
    try {
      const error = await failure(client.readRollout(tokenCluster('prod-eu', 'token', tiny), 'shop', 'web', 1));
      expect(error).toMatchObject({
        name: 'ClusterUnreachable',
        message: `cluster prod-eu (${tiny.url}): the answer is not a Kubernetes object`,
      });
    } finally {
      await tiny.close();
    }
  });

  it('a Status message is shown on one line, without control characters, at most 200 characters', async () => {
    const message = `quota exceeded\n\u001b[31m${'x'.repeat(300)}`;
    const tiny = await startTinyCluster(() => ({
      status: 403,
      body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', message }),
    }));
    try {
      const error = await failure(client.readRollout(tokenCluster('prod-eu', 'token', tiny), 'shop', 'web', 1));
      const shown = error.message.slice(`cluster prod-eu (${tiny.url}): HTTP 403: `.length);
      expect(shown).toBe(`quota exceeded [31m${'x'.repeat(199 - 'quota exceeded [31m'.length)}…`);
      expect(shown).toHaveLength(200);
    } finally {
      await tiny.close();
    }
  });
});

describe('eks-iam clusters', () => {
  const role = `arn:aws:iam::${accountId}:role/slipway-deployer`;
  const eksCluster = (where: { url: string; caData: string }): ClusterTarget => ({
    id: 'cls_eks1',
    name: 'prod-us',
    region: 'us-east-2',
    api_server_url: where.url,
    ca_data: where.caData,
    auth: { mode: 'eks-iam', role_arn: role, eks_cluster_name: 'prod-us-eks' },
  });

  it('assume the role once, and present its presigned STS URL as the bearer token', async () => {
    const before = sts.calls.length;
    const { user, expiresAt } = await credentials.clusterCredentials(eksCluster(simulator));
    const token = user.token as string;
    expect(sts.calls.slice(before).map((call) => Object.fromEntries(call))).toEqual([
      expect.objectContaining({ Action: 'AssumeRole', RoleArn: role, RoleSessionName: 'slipway-deployer' }),
    ]);
    expect(expiresAt - Date.now()).toBeGreaterThan(14 * 60_000);
    const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString());
    expect(url.host).toBe('sts.us-east-2.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^ASIASIMULATED\d+\/\d{8}\/us-east-2\/sts\/aws4_request$/);

    // A cluster that accepts exactly that token sees it on apply; no second AssumeRole (cached).
    const eks = await startKubernetesSimulator({ podStartMs: 0, token });
    allowLoopback(eks.url);
    try {
      const input = release('billing', 'ghcr.io/acme/billing:1.0.0', 1, 1);
      const { generation } = await client.applyWorkload(eksCluster(eks), renderDeployment(input));
      expect(generation).toBe(1);
      expect(sts.calls.length).toBe(before + 1);
    } finally {
      await eks.stop();
    }
  });
});

describe('kubeconfig clusters', () => {
  function kubeconfigCluster(
    name: string,
    kubeconfig: string,
    where: { url: string; caData: string } = simulator,
    context?: string,
  ): ClusterTarget {
    const secret = secretArn(`slipway/clusters/${name}-${randomUUID()}`, kubeconfig);
    return {
      id: `cls_${randomUUID()}`,
      name,
      region,
      api_server_url: where.url,
      ca_data: where.caData,
      auth: { mode: 'kubeconfig', kubeconfig_secret_arn: secret, ...(context ? { context } : {}) },
    };
  }

  /** The simulator's kubeconfig with its one user replaced, and its one cluster edited. */
  function editedKubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
    const config = parseYaml(simulator.kubeconfig);
    config.users[0].user = user;
    Object.assign(config.clusters[0].cluster, cluster);
    return stringifyYaml(config);
  }

  it('deploy with the user of a registered kubeconfig: apply, then the rollout completes', async () => {
    const cluster = kubeconfigCluster('kind-dev', simulator.kubeconfig);
    const input = release('kube', 'ghcr.io/acme/kube:1.0.0');
    const { generation } = await client.applyWorkload(cluster, renderDeployment(input));
    expect(generation).toBe(1);
    const { phases, last } = await followRollout(cluster, input, generation);
    expect(phases.at(-1)).toBe('complete');
    expect(last).toMatchObject({ desired: 2, available: 2, observed_generation: generation });
    const stored = await inspector().apps.readNamespacedDeployment({ name: 'kube', namespace: 'shop-kube' });
    expect(stored.spec?.template.spec?.containers[0]?.image).toBe('ghcr.io/acme/kube:1.0.0');
  });

  it('trust the record, not the kubeconfig: its server and insecure-skip-tls-verify are ignored', async () => {
    const elsewhere = editedKubeconfig(
      { token: simulator.token },
      { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true },
    );
    const reached = kubeconfigCluster('kind-dev', elsewhere);
    await expect(client.readRollout(reached, 'nowhere', 'ghost', 1)).rejects.toMatchObject({
      name: 'ClusterRejected',
      status: 404,
    });

    const otherCa = Buffer.from((await serverCredentials()).caPem).toString('base64');
    const untrusted = kubeconfigCluster('kind-dev', elsewhere, { url: simulator.url, caData: otherCa });
    const error = await failure(client.readRollout(untrusted, 'nowhere', 'ghost', 1));
    expect(error.name).toBe('ClusterUnreachable');
    expect(error.message).toContain('certificate not trusted: not signed by the registered CA');
  });

  it('an exec user is refused by name before any request, and the state machine does not retry it', async () => {
    const exec = { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws', args: ['eks', 'get-token'] };
    const cluster = kubeconfigCluster('eks-prod', editedKubeconfig({ exec }));
    const before = simulator.requests;
    const error = await failure(client.applyWorkload(cluster, renderDeployment(release('web', 'ghcr.io/acme/web:1'))));
    expect(error).toBeInstanceOf(client.ClusterConfigInvalid);
    expect(error.name).toBe('ClusterConfigInvalid');
    expect(error.message).toBe(
      `cluster eks-prod (${simulator.url}): the kubeconfig user "slipway-simulator" runs a command to get ` +
        'credentials (exec): store a kubeconfig whose user has client-certificate-data and client-key-data, ' +
        'a token, or a username and password',
    );
    expect(simulator.requests).toBe(before);
    for (const file of ['deploy', 'rollback']) {
      const { States } = JSON.parse(
        readFileSync(join(import.meta.dirname, `../../../statemachines/${file}.asl.json`), 'utf8'),
      ) as AslStates;
      const retried = Object.values(States)
        .filter((state) => state.Resource?.includes('DeployerFunctionArn'))
        .flatMap((state) => (state.Retry ?? []).flatMap((retry) => retry.ErrorEquals));
      expect(retried).toContain('ClusterUnreachable');
      expect(retried).not.toContain(error.name);
      expect(retried).not.toContain('States.ALL');
    }
  });

  it('an unknown context is refused by name', async () => {
    const cluster = kubeconfigCluster('kind-dev', simulator.kubeconfig, simulator, 'kind-prod');
    const error = await failure(client.readRollout(cluster, 'shop', 'web', 1));
    expect(error.name).toBe('ClusterConfigInvalid');
    expect(error.message).toBe(`cluster kind-dev (${simulator.url}): the kubeconfig has no context "kind-prod"`);
  });

  it('a wrong token is rejected by the cluster', async () => {
    const cluster = kubeconfigCluster('kind-dev', editedKubeconfig({ token: 'not-the-token' }));
    const error = await failure(client.readRollout(cluster, 'shop', 'web', 1));
    expect(error.name).toBe('ClusterRejected');
    expect(error.status).toBe(401);
  });

  it('a client certificate is presented in the TLS handshake, a username and password as basic auth', async () => {
    const witness = await startCredentialWitness();
    try {
      const client_ = await serverCredentials();
      const certUser = {
        'client-certificate-data': Buffer.from(client_.certPem).toString('base64'),
        'client-key-data': Buffer.from(client_.keyPem).toString('base64'),
      };
      const withCert = kubeconfigCluster('kind-dev', editedKubeconfig(certUser), witness);
      expect((await failure(client.readRollout(withCert, 'shop', 'web', 1))).status).toBe(404);
      expect(witness.seen.at(-1)).toEqual({
        certificate: new X509Certificate(client_.certPem).fingerprint256,
        authorization: undefined,
      });

      const withPassword = kubeconfigCluster(
        'k3s',
        editedKubeconfig({ username: 'admin', password: 's3cret' }),
        witness,
      );
      expect((await failure(client.readRollout(withPassword, 'shop', 'web', 1))).status).toBe(404);
      expect(witness.seen.at(-1)).toEqual({
        certificate: undefined,
        authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}`,
      });
    } finally {
      await witness.close();
    }
  });
});

/**
 * An HTTPS server that notes the client certificate and Authorization header of each request and
 * answers 404: the simulator knows bearer tokens only, so client certificates are checked here.
 */
async function startCredentialWitness() {
  const tls = await serverCredentials();
  const seen: { certificate?: string; authorization?: string }[] = [];
  const server = createHttpsServer(
    { cert: tls.certPem, key: tls.keyPem, requestCert: true, rejectUnauthorized: false },
    (request, response) => {
      const peer = (request.socket as TLSSocket).getPeerCertificate();
      seen.push({ certificate: peer.fingerprint256, authorization: request.headers.authorization });
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', code: 404, message: 'not found' }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  allowLoopback(url);
  return {
    url,
    caData: Buffer.from(tls.caPem).toString('base64'),
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const notFound = JSON.stringify({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message: 'not found',
  code: 404,
});

/**
 * A stand-in API server that answers every request with `answer`: over TLS with a certificate of
 * the simulator's kind (its CA is `caData`), or plain TCP that does not speak TLS at all. Its
 * address is allowed as the simulator's is; it counts connections and requests.
 */
async function startTinyCluster(answer: () => { status: number; type?: string; body: string }, { tls = true } = {}) {
  const credentials = await serverCredentials();
  const counts = { connections: 0, requests: 0 };
  const server = tls
    ? createHttpsServer({ cert: credentials.certPem, key: credentials.keyPem }, (_request, response) => {
        counts.requests++;
        const { status, type = 'application/json', body } = answer();
        response.writeHead(status, { 'content-type': type });
        response.end(body);
      })
    : createNetServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    counts.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  allowLoopback(url);
  return {
    url,
    caData: Buffer.from(credentials.caPem).toString('base64'),
    get connections() {
      return counts.connections;
    },
    get requests() {
      return counts.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

interface AslStates {
  States: Record<string, { Resource?: string; Retry?: { ErrorEquals: string[] }[] }>;
}

interface StsSimulator {
  url: string;
  calls: URLSearchParams[];
  close(): Promise<void>;
}

/** STS cannot run here: this answers AssumeRole (query protocol, XML) with fresh fake credentials. */
async function startStsSimulator(): Promise<StsSimulator> {
  const calls: URLSearchParams[] = [];
  const server: Server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const form = new URLSearchParams(body);
    calls.push(form);
    const n = calls.length;
    const expiration = new Date(Date.now() + 3600_000).toISOString();
    response.writeHead(200, { 'content-type': 'text/xml' });
    response.end(
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` +
        `<Credentials><AccessKeyId>ASIASIMULATED${n}</AccessKeyId><SecretAccessKey>secret-${n}</SecretAccessKey>` +
        `<SessionToken>session-${n}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
        `<AssumedRoleUser><Arn>${form.get('RoleArn')}/${form.get('RoleSessionName')}</Arn>` +
        `<AssumedRoleId>AROASIMULATED:${form.get('RoleSessionName')}</AssumedRoleId></AssumedRoleUser>` +
        `</AssumeRoleResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
