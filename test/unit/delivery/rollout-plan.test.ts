import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeploymentView } from '../../../shared/delivery/model.ts';
import type { Release } from '../../../shared/delivery/releases.ts';
import { k8sStrategy, restoreTarget, rolloutVerdict, workloadOf } from '../../../shared/delivery/rollout-plan.ts';

/** What the deployer applies and how it judges the rollout, without a cluster or a table. */
const deployment: Parameters<typeof workloadOf>[0] & Pick<DeploymentView, 'kind'> = {
  id: 'dep_01',
  kind: 'deploy',
  image: 'ghcr.io/acme/api:2.0.0',
  replicas: 3,
  strategy: { type: 'rolling', max_surge: 1 },
  progress_deadline_seconds: 120,
};

const release = (fields: Partial<Release> = {}): Release => ({
  revision: 4,
  image: 'ghcr.io/acme/api:1.9.0',
  replicas: 2,
  strategy: { type: 'recreate' },
  progress_deadline_seconds: 300,
  deployment_id: 'dep_00',
  kind: 'deploy',
  deployed_by: 'alice',
  deployed_at: '2026-11-01T00:00:00Z',
  outcome: 'succeeded',
  ...fields,
});

const placement = {
  app: { id: 'app_01', name: 'api', labels: { team: 'shop' } },
  env: { name: 'prod', namespace: 'shop-prod' },
};

describe('the strategy, in Kubernetes terms', () => {
  it('maps recreate to Recreate, and rolling (or nothing) to RollingUpdate', () => {
    expect(k8sStrategy({ type: 'recreate' })).toEqual({ type: 'Recreate' });
    expect(k8sStrategy({ type: 'rolling' })).toEqual({ type: 'RollingUpdate' });
    expect(k8sStrategy(undefined)).toEqual({ type: 'RollingUpdate' });
  });

  it('carries surge and unavailability, zero included, and nothing it was not given', () => {
    expect(k8sStrategy({ type: 'rolling', max_surge: 0, max_unavailable: 1 })).toEqual({
      type: 'RollingUpdate',
      max_surge: 0,
      max_unavailable: 1,
    });
    expect(k8sStrategy({ type: 'rolling', max_unavailable: 25 })).toEqual({
      type: 'RollingUpdate',
      max_unavailable: 25,
    });
  });
});

describe('the release a failed rollout goes back to', () => {
  it("is the environment's current release", () => {
    const current = release();
    expect(restoreTarget(deployment, current)).toBe(current);
  });

  it('is none when the environment has no release yet', () => {
    expect(restoreTarget(deployment, undefined)).toBeUndefined();
  });

  it('is none for a rollback: a rollback never rolls itself back', () => {
    expect(restoreTarget({ kind: 'rollback' }, release())).toBeUndefined();
  });
});

describe('the workload to apply', () => {
  it("is the deployment's own spec, at revision 0 until it is recorded", () => {
    expect(workloadOf(deployment, placement)).toEqual({
      ...placement,
      image: 'ghcr.io/acme/api:2.0.0',
      replicas: 3,
      strategy: { type: 'RollingUpdate', max_surge: 1 },
      deploymentId: 'dep_01',
      revision: 0,
      progressDeadlineSeconds: 120,
    });
  });

  it('restoring, is the release it goes back to, under the failed deployment', () => {
    expect(workloadOf(deployment, placement, release())).toEqual({
      ...placement,
      image: 'ghcr.io/acme/api:1.9.0',
      replicas: 2,
      strategy: { type: 'Recreate' },
      deploymentId: 'dep_01',
      revision: 4,
      progressDeadlineSeconds: 300,
    });
  });

  it("takes the deployment's deadline when the release recorded none", () => {
    const older = release({ progress_deadline_seconds: undefined });
    expect(workloadOf(deployment, placement, older).progressDeadlineSeconds).toBe(120);
  });
});

describe("the rollout's verdict", () => {
  const startedAt = '2026-11-27T10:00:00.000Z';
  const at = (seconds: number) => Date.parse(startedAt) + seconds * 1000;
  const progressing = { phase: 'progressing' as const, message: '1 of 3 updated replicas are available...' };

  it('is still progressing within the deadline', () => {
    expect(rolloutVerdict(progressing, startedAt, 120, at(120))).toEqual({ phase: 'progressing' });
  });

  it('fails a rollout still progressing once the deadline has passed (an image that hangs)', () => {
    expect(rolloutVerdict(progressing, startedAt, 120, at(121))).toEqual({
      phase: 'failed',
      reason: 'pods not available within 120 s',
    });
  });

  it("leaves a finished rollout as the cluster judged it, with the cluster's reason", () => {
    expect(rolloutVerdict({ phase: 'complete' }, startedAt, 120, at(500))).toEqual({ phase: 'complete' });
    expect(
      rolloutVerdict(
        {
          phase: 'failed',
          reason: 'ProgressDeadlineExceeded',
          message: 'deployment "api" exceeded its progress deadline',
        },
        startedAt,
        120,
        at(10),
      ),
    ).toEqual({
      phase: 'failed',
      reason: 'ProgressDeadlineExceeded: deployment "api" exceeded its progress deadline',
    });
    expect(rolloutVerdict({ phase: 'failed', reason: 'ProgressDeadlineExceeded' }, startedAt, 120, at(10))).toEqual({
      phase: 'failed',
      reason: 'ProgressDeadlineExceeded',
    });
  });

  it('fails exactly the progressing rollouts past their deadline', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('progressing' as const, 'complete' as const, 'failed' as const),
        fc.integer({ min: 5, max: 3600 }),
        fc.integer({ min: 0, max: 7200 }),
        (phase, deadline, elapsed) => {
          const verdict = rolloutVerdict({ phase }, startedAt, deadline, at(elapsed));
          const overdue = phase === 'progressing' && elapsed > deadline;
          expect(verdict.phase).toBe(overdue ? 'failed' : phase);
        },
      ),
    );
  });
});
