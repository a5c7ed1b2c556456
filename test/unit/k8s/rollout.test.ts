import type { V1Deployment, V1DeploymentCondition } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { rolloutStatus, runningDigest } from '../../../shared/k8s/rollout.ts';

interface Shape {
  generation?: number;
  observed: number;
  desired: number;
  replicas: number;
  updated: number;
  ready?: number;
  available: number;
  progressing?: Omit<V1DeploymentCondition, 'type'>;
}

function deployment(shape: Shape): V1Deployment {
  const conditions = shape.progressing ? [{ type: 'Progressing', ...shape.progressing }] : undefined;
  return {
    metadata: { name: 'web', namespace: 'shop', generation: shape.generation ?? 3 },
    spec: { replicas: shape.desired, selector: {}, template: {} },
    status: {
      observedGeneration: shape.observed,
      replicas: shape.replicas,
      updatedReplicas: shape.updated,
      readyReplicas: shape.ready ?? shape.available,
      availableReplicas: shape.available,
      conditions,
    },
  };
}

const deadline = {
  status: 'False',
  reason: 'ProgressDeadlineExceeded',
  message: 'ReplicaSet "web-7d9" has timed out progressing.',
};

describe('rollout status, as kubectl rollout status judges it', () => {
  it.each([
    [
      'the controller has not seen our change yet',
      { observed: 2, desired: 3, replicas: 3, updated: 3, available: 3 },
      'progressing',
    ],
    [
      'stale status hides even a deadline',
      { observed: 2, desired: 3, replicas: 3, updated: 1, available: 1, progressing: deadline },
      'progressing',
    ],
    [
      'the progress deadline passed',
      { observed: 3, desired: 3, replicas: 4, updated: 1, available: 3, progressing: deadline },
      'failed',
    ],
    [
      'new replicas still being created',
      { observed: 3, desired: 3, replicas: 4, updated: 2, available: 3 },
      'progressing',
    ],
    ['old replicas remaining', { observed: 3, desired: 3, replicas: 4, updated: 3, available: 3 }, 'progressing'],
    [
      'updated replicas not yet available',
      { observed: 3, desired: 3, replicas: 3, updated: 3, available: 2 },
      'progressing',
    ],
    [
      'all updated, none old, all available',
      { observed: 3, desired: 3, replicas: 3, updated: 3, available: 3 },
      'complete',
    ],
    [
      'a newer observed generation also counts',
      { observed: 4, generation: 4, desired: 1, replicas: 1, updated: 1, available: 1 },
      'complete',
    ],
    ['scaled to zero', { observed: 3, desired: 0, replicas: 0, updated: 0, available: 0 }, 'complete'],
  ] as const)('%s → %s', (_case, shape, phase) => {
    expect(rolloutStatus(deployment(shape), 3).phase).toBe(phase);
  });

  it('waits for a generation newer than ours when someone changed the Deployment after us', () => {
    const changedSince = deployment({ generation: 5, observed: 4, desired: 1, replicas: 1, updated: 1, available: 1 });
    expect(rolloutStatus(changedSince, 3).phase).toBe('progressing');
  });

  it('reports the counts and why a rollout failed', () => {
    const status = rolloutStatus(
      deployment({ observed: 3, desired: 3, replicas: 4, updated: 1, ready: 2, available: 3, progressing: deadline }),
      3,
    );
    expect(status).toEqual({
      phase: 'failed',
      desired: 3,
      updated: 1,
      ready: 2,
      available: 3,
      observed_generation: 3,
      reason: 'ProgressDeadlineExceeded',
      message: 'deployment "web" exceeded its progress deadline: ReplicaSet "web-7d9" has timed out progressing.',
    });
  });

  it('says what it waits for while progressing', () => {
    const oldRemaining = rolloutStatus(
      deployment({ observed: 3, desired: 3, replicas: 5, updated: 3, available: 3 }),
      3,
    );
    expect(oldRemaining).toMatchObject({ phase: 'progressing', message: '2 old replicas are pending termination...' });
    expect(oldRemaining.reason).toBeUndefined();
  });

  it('reads a Deployment the controller has not touched at all as progressing', () => {
    const fresh: V1Deployment = {
      metadata: { name: 'web', generation: 1 },
      spec: { replicas: 2, selector: {}, template: {} },
    };
    expect(rolloutStatus(fresh, 1)).toMatchObject({ phase: 'progressing', observed_generation: 0, updated: 0 });
  });
});

describe('the digest a completed rollout runs', () => {
  const image = 'registry.example.com/shop/web:1.4.2';
  const sha = (c: string) => `sha256:${c.repeat(64)}`;
  const web: V1Deployment = {
    metadata: { name: 'web' },
    spec: { selector: {}, template: { spec: { containers: [{ name: 'web', image }] } } },
  };
  const pod = (podImage: string, imageID: string, ready = true) => ({
    status: { containerStatuses: [{ name: 'web', image: podImage, imageID, ready, restartCount: 0 }] },
  });

  it('is the imageID a ready pod of the new template reports', () => {
    const pods = [pod('registry.example.com/shop/web:1.4.1', `registry.example.com/shop/web@${sha('a')}`)];
    pods.push(pod(image, `registry.example.com/shop/web@${sha('b')}`));
    expect(runningDigest(web, pods)).toBe(sha('b'));
  });

  it('is unknown while no pod of the image is ready, or when the runtime reports no digest', () => {
    expect(runningDigest(web, [pod(image, `registry.example.com/shop/web@${sha('c')}`, false)])).toBeUndefined();
    expect(runningDigest(web, [pod(image, '')])).toBeUndefined();
  });
});
