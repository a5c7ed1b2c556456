import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../client.ts';
import { bodies, create } from '../seed.ts';
import { deploy, IMAGE_REPOSITORY, type Scene, startScene, statusWhen, stepNames } from './scene.ts';

/** Deploy, roll out, record, roll back: end to end through the HTTP API on the local cloud. */
let scene: Scene;
let apps: AppsV1Api;
let core: CoreV1Api;
beforeAll(async () => {
  scene = await startScene();
  const kc = new KubeConfig();
  kc.loadFromString(scene.cloud.services.kubernetes.kubeconfig);
  apps = kc.makeApiClient(AppsV1Api);
  core = kc.makeApiClient(CoreV1Api);
});
afterAll(() => scene?.cloud.stop());

const imageOnCluster = async (namespace: string) =>
  (await apps.readNamespacedDeployment({ name: scene.app.name, namespace })).spec?.template.spec?.containers[0]?.image;

describe('a deploy to an unprotected environment', () => {
  it('answers 202 with a status URL and goes through every step to succeeded', async () => {
    const reply = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '1.0.0', replicas: 2 });
    expect(reply.status).toBe(202);
    expect(reply.headers.get('location')).toBe(`/api/v1/deployments/${reply.body.id}/status`);
    expect(reply.body).toMatchObject({
      state: 'queued',
      image: `${IMAGE_REPOSITORY}:1.0.0`,
      requested_by: 'dev-alice',
    });

    const status = await statusWhen(scene.developer, reply.body.id);
    expect(status.state).toBe('succeeded');
    expect(stepNames(status)).toEqual(['queued', 'applying', 'rolling_out', 'succeeded']);
    expect(status.rollout).toEqual({ desired: 2, updated: 2, ready: 2, available: 2 });
    for (const step of status.steps) expect(Date.parse(step.at)).not.toBeNaN();
    expect(await imageOnCluster('shop-dev')).toBe(`${IMAGE_REPOSITORY}:1.0.0`);

    const dev = await scene.developer.get(`/api/v1/apps/${scene.app.id}/envs/dev`);
    expect(dev.body.current_release).toMatchObject({ revision: 1, image: `${IMAGE_REPOSITORY}:1.0.0` });
    const prod = await scene.developer.get(`/api/v1/apps/${scene.app.id}/envs/prod`);
    expect(prod.body.current_release).toBeNull();

    const releases = await scene.developer.get(`/api/v1/apps/${scene.app.id}/envs/dev/releases`);
    expect(releases.body.items[0]).toMatchObject({
      revision: 1,
      image: `${IMAGE_REPOSITORY}:1.0.0`,
      deployed_by: 'dev-alice',
      deployment_id: reply.body.id,
      outcome: 'succeeded',
    });
  });

  it('rolls a failing rollout back to the previous release by itself, and says so', async () => {
    const good = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '1.1.0' });
    expect((await statusWhen(scene.developer, good.body.id)).state).toBe('succeeded');

    const bad = await deploy(scene.developer, scene.app.id, { env: 'dev', image: 'bad' });
    const status = await statusWhen(scene.developer, bad.body.id);
    expect(status.state).toBe('rolled_back');
    expect(stepNames(status)).toEqual(['queued', 'applying', 'rolling_out', 'rolling_back', 'rolled_back']);
    expect(status.reason).toMatch(/ProgressDeadlineExceeded/);
    expect(await imageOnCluster('shop-dev')).toBe(`${IMAGE_REPOSITORY}:1.1.0`);

    const releases = (await scene.developer.get(`/api/v1/apps/${scene.app.id}/envs/dev/releases`)).body.items;
    expect(releases[0]).toMatchObject({ image: `${IMAGE_REPOSITORY}:bad`, outcome: 'rolled_back' });
    expect(releases[1]).toMatchObject({ image: `${IMAGE_REPOSITORY}:1.1.0`, outcome: 'succeeded' });
  });

  it('fails a rollout whose pods never become available within its deadline', async () => {
    const hung = await deploy(scene.developer, scene.app.id, {
      env: 'dev',
      image: 'hang',
      progress_deadline_seconds: 5,
    });
    const status = await statusWhen(scene.developer, hung.body.id);
    expect(status.state).toBe('rolled_back');
    expect(status.reason).toMatch(/not available within 5 s/);
  });

  it('rolls back in one call to the last good release before the current one', async () => {
    const releases = (await scene.developer.get(`/api/v1/apps/${scene.app.id}/envs/dev/releases`)).body.items;
    const current = releases.find((r: { outcome: string }) => r.outcome === 'succeeded');
    const target = releases.find(
      (r: { outcome: string; revision: number }) => r.outcome === 'succeeded' && r.revision < current.revision,
    );

    const reply = await scene.developer.post('/api/v1/rollbacks', { app_id: scene.app.id, env: 'dev' });
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ kind: 'rollback', target_revision: target.revision, image: target.image });
    const status = await statusWhen(scene.developer, reply.body.id);
    expect(status.state).toBe('succeeded');
    expect(await imageOnCluster('shop-dev')).toBe(target.image);

    const after = (await scene.developer.get(`/api/v1/apps/${scene.app.id}/envs/dev/releases`)).body.items[0];
    expect(after).toMatchObject({ kind: 'rollback', restored_revision: target.revision, outcome: 'succeeded' });
  });

  it('answers a repeated deploy with the same Idempotency-Key with the first deployment, and runs it once', async () => {
    const key = { 'idempotency-key': `deploy-${Date.now()}` };
    const body = { env: 'dev', image: '1.2.0' };
    const [first, again] = [
      await scene.developer.post(`/api/v1/apps/${scene.app.id}/deploy`, body, key),
      await scene.developer.post(`/api/v1/apps/${scene.app.id}/deploy`, body, key),
    ];
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await statusWhen(scene.developer, first.body.id)).state).toBe('succeeded');
    const recent = (await scene.developer.get(`/api/v1/deployments?app_id=${scene.app.id}&env=dev&limit=2`)).body.items;
    expect(recent.filter((d: { image: string }) => d.image.endsWith(':1.2.0'))).toHaveLength(1);
    const other = await scene.developer.post(`/api/v1/apps/${scene.app.id}/deploy`, { ...body, image: '1.2.1' }, key);
    expect(other.status).toBe(422);
  });

  it('refuses a rollback with nowhere to go, and an image from another repository, changing nothing', async () => {
    const none = await scene.developer.post('/api/v1/rollbacks', { app_id: scene.app.id, env: 'prod' });
    expect(none.status).toBe(409);
    expect(none.body.type).toMatch(/no-rollback-target$/);
    const foreign = await deploy(scene.developer, scene.app.id, { env: 'dev', image: 'docker.io/evil/miner:1' });
    expect(foreign.status).toBe(422);
    const list = await scene.developer.get(`/api/v1/deployments?app_id=${scene.app.id}&env=prod`);
    expect(list.body.items).toEqual([]);
  });
});

describe('the environment lock', () => {
  it('serializes two deploys to one environment, first in first out', async () => {
    await scene.cloud.services.kubernetes.setOptions({ podStartMs: 400 });
    try {
      const first = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '2.0.0' });
      const second = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '2.0.1' });
      const waiting = await statusWhen(scene.developer, second.body.id, (s) => s.state === 'waiting_for_lock');
      expect(waiting.queue).toMatchObject({ holder: first.body.id, position: 1 });

      const [a, b] = await Promise.all([
        statusWhen(scene.developer, first.body.id),
        statusWhen(scene.developer, second.body.id),
      ]);
      expect([a.state, b.state]).toEqual(['succeeded', 'succeeded']);
      const at = (s: typeof a, state: string) =>
        Date.parse(s.steps.find((x: { state: string }) => x.state === state).at);
      expect(at(b, 'applying')).toBeGreaterThanOrEqual(at(a, 'succeeded'));
      expect(await imageOnCluster('shop-dev')).toBe(`${IMAGE_REPOSITORY}:2.0.1`);
    } finally {
      scene.cloud.services.kubernetes.setOptions({ podStartMs: 30 });
    }
  });

  it('cancels a deployment waiting in the queue, and the queue moves on without it', async () => {
    scene.cloud.services.kubernetes.setOptions({ podStartMs: 400 });
    try {
      const first = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '2.1.0' });
      const second = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '2.1.1' });
      const third = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '2.1.2' });
      await statusWhen(scene.developer, second.body.id, (s) => s.state === 'waiting_for_lock');
      const cancelled = await scene.developer.post(`/api/v1/deployments/${second.body.id}/cancel`, {});
      expect(cancelled.body.state).toBe('cancelled');
      const [a, c] = await Promise.all([
        statusWhen(scene.developer, first.body.id),
        statusWhen(scene.developer, third.body.id),
      ]);
      expect([a.state, c.state]).toEqual(['succeeded', 'succeeded']);
      expect(await imageOnCluster('shop-dev')).toBe(`${IMAGE_REPOSITORY}:2.1.2`);
      const releases = (await scene.developer.get(`/api/v1/apps/${scene.app.id}/envs/dev/releases`)).body.items;
      expect(releases.map((r: { image: string }) => r.image)).not.toContain(`${IMAGE_REPOSITORY}:2.1.1`);
    } finally {
      scene.cloud.services.kubernetes.setOptions({ podStartMs: 30 });
    }
  });

  it('runs deploys to two environments at the same time', async () => {
    await scene.admin.post(`/api/v1/apps/${scene.app.id}/envs`, {
      name: 'qa',
      cluster_id: scene.cluster.id,
      namespace: 'shop-qa',
    });
    scene.cloud.services.kubernetes.setOptions({ podStartMs: 400 });
    try {
      const [dev, qa] = await Promise.all([
        deploy(scene.developer, scene.app.id, { env: 'dev', image: '3.0.0' }),
        deploy(scene.developer, scene.app.id, { env: 'qa', image: '3.0.0' }),
      ]);
      const [a, b] = await Promise.all([
        statusWhen(scene.developer, dev.body.id),
        statusWhen(scene.developer, qa.body.id),
      ]);
      expect([a.state, b.state]).toEqual(['succeeded', 'succeeded']);
      const at = (s: typeof a, state: string) =>
        Date.parse(s.steps.find((x: { state: string }) => x.state === state).at);
      // Each was rolling out while the other was too: neither waited for the other's lock.
      expect(at(b, 'applying')).toBeLessThan(at(a, 'succeeded'));
      expect(at(a, 'applying')).toBeLessThan(at(b, 'succeeded'));
      expect(stepNames(b)).not.toContain('waiting_for_lock');
    } finally {
      scene.cloud.services.kubernetes.setOptions({ podStartMs: 30 });
    }
  });
});

describe('tenants of one cluster (ADR 12)', () => {
  it('another project cannot place an environment in the namespace a deployed app runs in, and nothing is written', async () => {
    const release = await deploy(scene.developer, scene.app.id, { env: 'prod', image: '8.0.0' });
    const waiting = await statusWhen(scene.developer, release.body.id, (s) => s.state === 'waiting_for_approval');
    await scene.approvers[0].post(`/api/v1/approvals/${waiting.approval.id}/approve`, {});
    expect((await statusWhen(scene.developer, release.body.id)).state).toBe('succeeded');

    // Project B, whose app has the same name: its Deployment would be A's.
    const project = await create(scene.admin, '/api/v1/projects', bodies.project());
    const app = await create(scene.admin, '/api/v1/apps', { ...bodies.app(project.id), name: scene.app.name });
    const maintainer = client(scene.cloud.url, await scene.cloud.mintToken({ sub: 'b-maintainer' }));
    await maintainer.get('/api/v1/users/me');
    await create(scene.admin, '/api/v1/roles/bind', {
      role: 'maintainer',
      subject: { kind: 'user', id: 'b-maintainer' },
      scope: { kind: 'project', project_id: project.id },
    });

    const refused = await maintainer.post(`/api/v1/apps/${app.id}/envs`, {
      name: 'prod',
      cluster_id: scene.cluster.id,
      namespace: 'shop-prod',
    });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('https://slipway.dev/problems/namespace-taken');
    const owner = (await scene.admin.get(`/api/v1/projects/${scene.project.id}`)).body;
    for (const trace of [owner.id, owner.name, scene.app.id]) expect(refused.text).not.toContain(trace);
    expect((await maintainer.get(`/api/v1/apps/${app.id}/envs`)).body.items).toEqual([]);
    expect(await imageOnCluster('shop-prod')).toBe(`${IMAGE_REPOSITORY}:8.0.0`);
  });

  it('a Deployment Slipway does not manage fails the deploy as ClusterRejected, and keeps its image', async () => {
    await core.createNamespace({ body: { metadata: { name: 'payments' } } });
    await apps.createNamespacedDeployment({
      namespace: 'payments',
      body: {
        metadata: { name: scene.app.name },
        spec: {
          replicas: 1,
          selector: { matchLabels: { run: 'theirs' } },
          template: {
            metadata: { labels: { run: 'theirs' } },
            spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
          },
        },
      },
    });
    await create(scene.admin, `/api/v1/apps/${scene.app.id}/envs`, {
      name: 'payments',
      cluster_id: scene.cluster.id,
      namespace: 'payments',
    });

    const reply = await deploy(scene.developer, scene.app.id, { env: 'payments', image: '7.0.0' });
    const status = await statusWhen(scene.developer, reply.body.id);
    expect(status.state).toBe('failed');
    expect(stepNames(status)).toEqual(['queued', 'applying', 'failed']);
    expect(status.reason).toMatch(
      new RegExp(
        `^ClusterRejected: .*Deployment payments/${scene.app.name} exists and is not managed by this environment`,
      ),
    );
    expect(await imageOnCluster('payments')).toBe('nginx:1.27');
  });

  it('adopts an earlier Slipway’s unlabelled Deployment of this environment, and no other environment’s', async () => {
    const unlabel = (annotations: Record<string, string> = {}) =>
      apps.patchNamespacedDeployment(
        {
          name: scene.app.name,
          namespace: 'shop-dev',
          body: { metadata: { labels: { 'slipway.dev/app-id': null, 'slipway.dev/env': null }, annotations } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    // As an earlier version left it: managed by slipway, the last dev deployment named on it.
    await unlabel();
    const adopted = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '9.0.0' });
    expect((await statusWhen(scene.developer, adopted.body.id)).state).toBe('succeeded');
    const labels = (await apps.readNamespacedDeployment({ name: scene.app.name, namespace: 'shop-dev' })).metadata
      ?.labels;
    expect(labels).toMatchObject({ 'slipway.dev/app-id': scene.app.id, 'slipway.dev/env': 'dev' });

    // Naming a deployment of prod does not make it dev's.
    const prod = (await scene.developer.get(`/api/v1/deployments?app_id=${scene.app.id}&env=prod`)).body.items[0];
    await unlabel({ 'slipway.dev/deployment-id': prod.id });
    const refused = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '9.0.1' });
    const status = await statusWhen(scene.developer, refused.body.id);
    expect(status.state).toBe('failed');
    expect(status.reason).toMatch(/^ClusterRejected: .*not managed by this environment/);
    expect(await imageOnCluster('shop-dev')).toBe(`${IMAGE_REPOSITORY}:9.0.0`);
  });
});
