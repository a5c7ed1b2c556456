/**
 * The Kubernetes simulator speaks the API the way a real cluster does, as seen by two independent
 * clients: @kubernetes/client-node (what Slipway deploys with) and kubectl. Set SLIPWAY_KUBECTL to run
 * the kubectl part with another binary (e.g. Debian's kubernetes-client 1.20).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  Watch,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubernetesSimulator, startKubernetesSimulator } from '../../../infra/local/kubernetes/simulator.ts';
import { applyNamespace, failure, fieldManager, kubectl, run, serverSideApply } from './simulator-clients.ts';

let sim: KubernetesSimulator;
let apps: AppsV1Api;
let core: CoreV1Api;
let kubeConfig: KubeConfig;

beforeAll(async () => {
  sim = await startKubernetesSimulator({ podStartMs: 40, badImageFailAfterMs: 300 });
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(sim.kubeconfig);
  apps = kubeConfig.makeApiClient(AppsV1Api);
  core = kubeConfig.makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await sim?.stop();
});

function deployment(name: string, namespace: string, image: string, replicas = 2): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

function createNamespace(name: string): Promise<void> {
  return applyNamespace(core, name);
}

async function applyDeployment(body: V1Deployment, manager = fieldManager, force = true): Promise<V1Deployment> {
  const { name = '', namespace = '' } = body.metadata ?? {};
  return apps.patchNamespacedDeployment({ name, namespace, body, fieldManager: manager, force }, serverSideApply);
}

/** kubectl rollout status's rule: the controller saw this generation and every new pod is available, no old ones left. */
function rolledOut(d: V1Deployment): boolean {
  const wanted = d.spec?.replicas ?? 1;
  const status = d.status ?? {};
  return (
    (status.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (status.updatedReplicas ?? 0) === wanted &&
    (status.replicas ?? 0) === wanted &&
    (status.availableReplicas ?? 0) === wanted
  );
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A raw request with the simulator's token and CA: for bodies no client library would build. */
function fetchWithCa(
  method: string,
  path: string,
  type: string,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${sim.token}`, 'content-type': type };
    const req = request(`${sim.url}${path}`, { method, headers, ca: Buffer.from(sim.caData, 'base64') }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('Kubernetes simulator through @kubernetes/client-node (TLS verified against its CA)', () => {
  it('server-side apply creates a deployment that rolls out; a new image bumps the generation and rolls out again', async () => {
    await createNamespace('shop');
    const created = await applyDeployment(deployment('web', 'shop', 'nginx:1.27', 3));
    expect(created.metadata?.generation).toBe(1);
    expect(created.metadata?.managedFields?.[0]).toMatchObject({ manager: fieldManager, operation: 'Apply' });
    const read = () => apps.readNamespacedDeployment({ name: 'web', namespace: 'shop' });
    const first = await eventually(read, rolledOut);
    expect(first.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('NewReplicaSetAvailable');

    const updated = await applyDeployment(deployment('web', 'shop', 'nginx:1.28', 3));
    expect(updated.metadata?.generation).toBe(2);
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(first.metadata?.resourceVersion));
    expect(rolledOut(updated)).toBe(false);
    await eventually(read, rolledOut);

    const pods = await core.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=web' });
    expect(pods.items).toHaveLength(3);
    for (const pod of pods.items) {
      expect(pod.spec?.containers[0]?.image).toBe('nginx:1.28');
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
    const events = await core.listNamespacedEvent({ namespace: 'shop' });
    expect(events.items.map((e) => e.reason)).toContain('ScalingReplicaSet');

    const sameAgain = await applyDeployment(deployment('web', 'shop', 'nginx:1.28', 3));
    expect(sameAgain.metadata?.generation).toBe(2);
  });

  it('a watch from a list resourceVersion streams the rollout until it is done', async () => {
    await createNamespace('watched');
    const list = await apps.listNamespacedDeployment({ namespace: 'watched' });
    const seen: string[] = [];
    let finished!: (d: V1Deployment) => void;
    const rolled = new Promise<V1Deployment>((resolve) => {
      finished = resolve;
    });
    const watch = await new Watch(kubeConfig).watch(
      '/apis/apps/v1/namespaces/watched/deployments',
      { resourceVersion: list.metadata?.resourceVersion },
      (type, object: V1Deployment) => {
        seen.push(type);
        if (rolledOut(object)) finished(object);
      },
      () => {},
    );
    await applyDeployment(deployment('api', 'watched', 'api:1', 2));
    const done = await rolled;
    watch.abort();
    expect(done.status?.availableReplicas).toBe(2);
    expect(seen[0]).toBe('ADDED');
    expect(seen).toContain('MODIFIED');
  });

  it('refuses a replace with a stale resourceVersion (409 Conflict)', async () => {
    await createNamespace('stale');
    await applyDeployment(deployment('web', 'stale', 'nginx:1', 1));
    const original = await apps.readNamespacedDeployment({ name: 'web', namespace: 'stale' });
    const scaled = structuredClone(original);
    if (scaled.spec) scaled.spec.replicas = 2;
    const replaced = await apps.replaceNamespacedDeployment({ name: 'web', namespace: 'stale', body: scaled });
    expect(replaced.metadata?.generation).toBe(2);
    expect(
      await failure(apps.replaceNamespacedDeployment({ name: 'web', namespace: 'stale', body: original })),
    ).toEqual({
      code: 409,
      reason: 'Conflict',
    });
  });

  it('refuses an apply that changes a field another manager owns unless forced', async () => {
    await createNamespace('owners');
    await applyDeployment(deployment('web', 'owners', 'nginx:1', 2), 'team-a');
    const conflicting = applyDeployment(deployment('web', 'owners', 'nginx:1', 5), 'team-b', false);
    expect(await failure(conflicting)).toEqual({ code: 409, reason: 'Conflict' });
    const forced = await applyDeployment(deployment('web', 'owners', 'nginx:1', 5), 'team-b', true);
    expect(forced.spec?.replicas).toBe(5);
  });

  it('answers 415 to an unknown patch content type and 422 to an apply without fieldManager', async () => {
    await createNamespace('patches');
    await applyDeployment(deployment('web', 'patches', 'nginx:1', 1));
    const xml = setHeaderOptions('Content-Type', 'application/xml');
    const body = { spec: { replicas: 2 } };
    expect(await failure(apps.patchNamespacedDeployment({ name: 'web', namespace: 'patches', body }, xml))).toEqual({
      code: 415,
      reason: 'UnsupportedMediaType',
    });
    const noManager = apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'patches', body: deployment('web', 'patches', 'nginx:2') },
      serverSideApply,
    );
    expect(await failure(noManager)).toEqual({ code: 422, reason: 'Invalid' });
    const merged = await apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'patches', body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merged.spec?.replicas).toBe(2);
    const jsonPatched = await apps.patchNamespacedDeployment({
      name: 'web',
      namespace: 'patches',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:3' }],
    });
    expect(jsonPatched.spec?.template.spec?.containers[0]?.image).toBe('nginx:3');
    expect(jsonPatched.metadata?.generation).toBe(3);
  });

  it('answers 400 BadRequest, never a 500, to a body nested deeper than any object or with a __proto__ key', async () => {
    await createNamespace('hostile');
    const before = await applyDeployment(deployment('web', 'hostile', 'nginx:1', 1));
    const path = '/apis/apps/v1/namespaces/hostile/deployments';
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const sends: [string, string, string, string][] = [
      ['POST', path, 'application/json', `{"metadata":{"name":"deep"},"spec":${deep}}`],
      ['PUT', `${path}/web`, 'application/json', `{"metadata":{"name":"web"},"spec":${deep}}`],
      ['PATCH', `${path}/web`, 'application/merge-patch+json', `{"spec":{"template":${deep}}}`],
      ['PATCH', `${path}/web`, 'application/merge-patch+json', '{"metadata":{"labels":{"__proto__":{"a":"b"}}}}'],
      [
        'PATCH',
        `${path}/web?fieldManager=x`,
        'application/apply-patch+yaml',
        `{"apiVersion":"apps/v1","kind":"Deployment","spec":${deep}}`,
      ],
    ];
    for (const [method, url, type, body] of sends) {
      const reply = await fetchWithCa(method, url, type, body);
      expect([reply.status, JSON.parse(reply.text).reason], `${method} ${type}`).toEqual([400, 'BadRequest']);
    }
    const after = await apps.readNamespacedDeployment({ name: 'web', namespace: 'hostile' });
    // The rollout keeps writing status; the object itself did not change.
    expect([after.metadata?.generation, after.metadata?.labels]).toEqual([
      before.metadata?.generation,
      before.metadata?.labels,
    ]);
  });

  it('answers 401 to a wrong token', async () => {
    const wrong = new KubeConfig();
    wrong.loadFromString(sim.kubeconfig.replace(sim.token, 'not-the-token'));
    const call = wrong.makeApiClient(CoreV1Api).listNamespace();
    expect(await failure(call)).toEqual({ code: 401, reason: undefined });
  });

  it('a :bad image never gets ready, keeps the old pods and ends in ProgressDeadlineExceeded; :hang never ends', async () => {
    await createNamespace('failing');
    await applyDeployment(deployment('web', 'failing', 'nginx:1', 2));
    const read = () => apps.readNamespacedDeployment({ name: 'web', namespace: 'failing' });
    await eventually(read, rolledOut);
    await applyDeployment(deployment('stuck', 'failing', 'nginx:hang', 1));
    await applyDeployment(deployment('web', 'failing', 'nginx:bad', 2));
    const progressing = (d: V1Deployment) => d.status?.conditions?.find((c) => c.type === 'Progressing');
    const failed = await eventually(read, (d) => progressing(d)?.status === 'False');
    expect(progressing(failed)?.reason).toBe('ProgressDeadlineExceeded');
    // :hang started earlier and never reports the deadline: the platform's own deadline must catch it.
    const stuck = await apps.readNamespacedDeployment({ name: 'stuck', namespace: 'failing' });
    expect(progressing(stuck)).toMatchObject({ status: 'True', reason: 'ReplicaSetUpdated' });
    expect(stuck.status?.availableReplicas).toBeUndefined();
    expect(failed.status?.availableReplicas).toBe(2);
    const pods = await core.listNamespacedPod({ namespace: 'failing', labelSelector: 'app=web' });
    const waiting = pods.items.map((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason).filter(Boolean);
    expect(waiting).toEqual(['ImagePullBackOff', 'ImagePullBackOff']);
  });

  it('deletes a deployment: reads answer 404 NotFound afterwards', async () => {
    await createNamespace('gone');
    await applyDeployment(deployment('web', 'gone', 'nginx:1', 1));
    await apps.deleteNamespacedDeployment({ name: 'web', namespace: 'gone' });
    expect(await failure(apps.readNamespacedDeployment({ name: 'web', namespace: 'gone' }))).toEqual({
      code: 404,
      reason: 'NotFound',
    });
    const unknownNamespace = applyDeployment(deployment('web', 'nowhere', 'nginx:1'));
    expect(await failure(unknownNamespace)).toEqual({ code: 404, reason: 'NotFound' });
  });

  it('keeps its CA in the data folder across restarts, and can be paused like an unreachable cluster', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'slipway-k8s-'));
    try {
      const first = await startKubernetesSimulator({ dataDir, podStartMs: 0 });
      const port = Number(new URL(first.url).port);
      await first.stop();
      const second = await startKubernetesSimulator({ dataDir, podStartMs: 0, port });
      expect(second.caData).toBe(first.caData);
      expect(second.kubeconfigPath).toBe(join(dataDir, 'kubernetes', 'kubeconfig'));
      const config = new KubeConfig();
      config.loadFromFile(second.kubeconfigPath as string);
      const client = config.makeApiClient(CoreV1Api);
      await second.pause();
      const refused = await client.listNamespace().catch((error: Error) => error);
      expect((refused as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
      await second.resume();
      const namespaces = await client.listNamespace();
      expect(namespaces.items.map((n) => n.metadata?.name)).toContain('default');
      expect(second.requests).toBe(1);
      await second.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

type Kubectl = (...args: string[]) => Promise<{ stdout: string; stderr: string }>;

/** Runs `use` with kubectl pointed at the simulator and `manifest` in a file (all in a temporary folder). */
async function withKubectl(manifest: string, use: (k: Kubectl, manifestFile: string) => Promise<void>): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'slipway-kubectl-'));
  try {
    const kubeconfigFile = join(folder, 'kubeconfig');
    await writeFile(kubeconfigFile, sim.kubeconfig);
    const manifestFile = join(folder, 'manifest.yaml');
    await writeFile(manifestFile, manifest);
    const common = ['--kubeconfig', kubeconfigFile, '--cache-dir', join(folder, 'cache')];
    await use((...args) => run(kubectl as string, [...common, ...args], { timeout: 20_000 }), manifestFile);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

describe('Kubernetes simulator through kubectl', () => {
  const missing = 'kubectl fidelity — kubectl not installed: apt-get install kubernetes-client';
  const title = kubectl
    ? `kubectl (${kubectl}) applies server-side, waits for the rollout, and reads deployments and namespaces`
    : missing;
  it.skipIf(!kubectl)(title, async () => {
    const manifest = `apiVersion: v1
kind: Namespace
metadata:
  name: cli
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: cli
spec:
  replicas: 3
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
        - name: shop
          image: shop:1.0
`;
    await withKubectl(manifest, async (k, manifestFile) => {
      // The simulator serves no OpenAPI schema, so client-side validation is off.
      const applied = await k('apply', '--server-side', '--validate=false', '-f', manifestFile);
      expect(applied.stdout).toContain('deployment.apps/shop serverside-applied');
      const rollout = await k('rollout', 'status', 'deployment/shop', '-n', 'cli', '--timeout=20s');
      expect(rollout.stdout).toContain('successfully rolled out');

      const listed = JSON.parse((await k('get', 'deployments', '-n', 'cli', '-o', 'json')).stdout);
      expect(listed.items).toHaveLength(1);
      expect(listed.items[0].status.availableReplicas).toBe(3);
      expect(listed.items[0].metadata.generation).toBe(1);

      const namespaces = (await k('get', 'ns')).stdout;
      expect(namespaces).toMatch(/^NAME\s+STATUS\s+AGE/);
      expect(namespaces).toMatch(/^cli\s+Active/m);
    });
  });

  const jobsTitle = kubectl
    ? `kubectl (${kubectl}) creates a build Job, follows its log through the job, lists and waits for it, deletes it`
    : missing;
  it.skipIf(!kubectl)(jobsTitle, async () => {
    // Slow enough that kubectl joins the build while it runs.
    sim.setOptions({ podStartMs: 300 });
    try {
      const manifest = `apiVersion: v1
kind: Namespace
metadata:
  name: cli-builds
---
apiVersion: batch/v1
kind: Job
metadata:
  name: build-1
  namespace: cli-builds
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: build
          image: gcr.io/kaniko-project/executor:v1.23.2
          env:
            - {name: GIT_URL, value: https://git.example.com/acme/shop.git}
            - {name: GIT_SHA, value: 0123456789abcdef0123456789abcdef01234567}
            - {name: IMAGE, value: registry.local/shop:0123456}
`;
      await withKubectl(manifest, async (k, manifestFile) => {
        const created = await k('create', '--validate=false', '-f', manifestFile);
        expect(created.stdout).toContain('job.batch/build-1 created');
        await eventually(
          () => core.listNamespacedPod({ namespace: 'cli-builds', labelSelector: 'job-name=build-1' }),
          (pods) => pods.items[0]?.status?.phase === 'Running',
        );
        const running = (await k('get', 'jobs', '-n', 'cli-builds')).stdout;
        expect(running).toMatch(/^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE/);
        expect(running).toMatch(/^build-1\s+Running\s+0\/1\s/m);

        // kubectl finds the pod through the Job's selector, then streams until the container ends.
        const logs = (await k('logs', '-f', 'job/build-1', '-n', 'cli-builds')).stdout.trimEnd().split('\n');
        expect(logs[0]).toBe(
          '+ git clone --filter=blob:none --no-checkout https://git.example.com/acme/shop.git /workspace',
        );
        expect(logs.at(-1)).toMatch(/^slipway\.image\.digest=sha256:[0-9a-f]{64}$/);

        const waited = await k('wait', '--for=condition=complete', 'job/build-1', '-n', 'cli-builds', '--timeout=10s');
        expect(waited.stdout).toContain('job.batch/build-1 condition met');
        const done = (await k('get', 'jobs', '-n', 'cli-builds')).stdout;
        expect(done).toMatch(/^build-1\s+Complete\s+1\/1\s/m);
        expect((await k('get', 'pods', '-n', 'cli-builds')).stdout).toMatch(/^build-1-\w{5}\s+0\/1\s+Completed\s/m);

        const deleted = await k('delete', 'job', 'build-1', '-n', 'cli-builds');
        expect(deleted.stdout).toContain('job.batch "build-1" deleted');
        await eventually(
          () => core.listNamespacedPod({ namespace: 'cli-builds' }),
          (pods) => pods.items.length === 0,
        );
      });
    } finally {
      sim.setOptions({ podStartMs: 40 });
    }
  });
});
