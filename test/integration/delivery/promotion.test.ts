import { createHash } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, IMAGE_REPOSITORY, type Scene, startScene, statusWhen } from './scene.ts';

/** Promotion: what runs in one environment goes to another, pinned to the digest its pods ran. */
let scene: Scene;
let core: CoreV1Api;
beforeAll(async () => {
  scene = await startScene();
  const kc = new KubeConfig();
  kc.loadFromString(scene.cloud.services.kubernetes.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  await scene.admin.post(`/api/v1/apps/${scene.app.id}/envs`, {
    name: 'staging',
    cluster_id: scene.cluster.id,
    namespace: 'shop-staging',
    order: 1,
  });
});
afterAll(() => scene?.cloud.stop());

const promote = (body: Record<string, unknown>) => scene.developer.post(`/api/v1/apps/${scene.app.id}/promote`, body);

/** The imageIDs the pods of the app report in a namespace. */
async function podImageIds(namespace: string): Promise<string[]> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/name=${scene.app.name}` });
  return pods.items.flatMap((p) => (p.status?.containerStatuses ?? []).map((c) => c.imageID ?? ''));
}

describe('POST /apps/{id}/promote', () => {
  it('refuses to promote from an environment that has no release yet, and creates nothing', async () => {
    const reply = await promote({ from: 'dev', to: 'staging' });
    expect(reply.status).toBe(422);
    expect(reply.body.type).toMatch(/nothing-to-promote$/);
    const deployments = await scene.developer.get(`/api/v1/deployments?app_id=${scene.app.id}`);
    expect(deployments.body.items).toEqual([]);
  });

  it('copies the exact digest the pods of from ran, with its replicas, strategy and deadline', async () => {
    const first = await deploy(scene.developer, scene.app.id, {
      env: 'dev',
      image: '1.4.2',
      replicas: 2,
      strategy: { type: 'recreate' },
      progress_deadline_seconds: 120,
    });
    expect((await statusWhen(scene.developer, first.body.id)).state).toBe('succeeded');

    // The release records what the cluster ran, not just the tag it was asked for.
    const dev = (await scene.developer.get(`/api/v1/apps/${scene.app.id}/envs/dev`)).body.current_release;
    const digest = `sha256:${createHash('sha256').update(`${IMAGE_REPOSITORY}:1.4.2`).digest('hex')}`;
    expect(dev).toMatchObject({ image: `${IMAGE_REPOSITORY}:1.4.2`, digest });
    expect(await podImageIds('shop-dev')).toContain(`${IMAGE_REPOSITORY}@${digest}`);

    const reply = await promote({ from: 'dev', to: 'staging', description: 'weekly promotion' });
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({
      kind: 'deploy',
      env: 'staging',
      tier: 'staging',
      image: `${IMAGE_REPOSITORY}@${digest}`,
      replicas: 2,
      strategy: { type: 'recreate' },
      progress_deadline_seconds: 120,
      origin: { kind: 'promotion', from_env: 'dev', from_revision: dev.revision },
    });
    expect((await statusWhen(scene.developer, reply.body.id)).state).toBe('succeeded');
    const staging = (await scene.developer.get(`/api/v1/apps/${scene.app.id}/envs/staging`)).body.current_release;
    expect(staging).toMatchObject({ image: `${IMAGE_REPOSITORY}@${digest}`, digest, replicas: 2 });
    expect(await podImageIds('shop-staging')).toEqual([
      `${IMAGE_REPOSITORY}@${digest}`,
      `${IMAGE_REPOSITORY}@${digest}`,
    ]);
  });

  it('goes through the normal deploy path: a protected target waits for approval', async () => {
    const reply = await promote({ from: 'staging', to: 'prod' });
    expect(reply.status).toBe(202);
    const waiting = await statusWhen(scene.developer, reply.body.id, (s) => s.state === 'waiting_for_approval');
    expect(waiting.approval).toMatchObject({ state: 'pending' });
    expect((await scene.developer.post(`/api/v1/deployments/${reply.body.id}/cancel`, {})).status).toBe(200);
  });

  it('refuses from == to (400) and unknown environments (404)', async () => {
    const same = await promote({ from: 'dev', to: 'dev' });
    expect(same.status).toBe(400);
    expect(same.body.invalid_params).toEqual([{ name: 'to', reason: 'must differ from from' }]);
    expect((await promote({ from: 'nowhere', to: 'staging' })).status).toBe(404);
    expect((await promote({ from: 'dev', to: 'nowhere' })).status).toBe(404);
    expect((await promote({ from: 'dev' })).status).toBe(400);
  });
});
