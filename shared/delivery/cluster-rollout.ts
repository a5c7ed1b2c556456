/**
 * A deployment on its cluster, the deployer's two steps: apply its workload (or, on the rollback
 * path, the environment's current release) and read how the rollout goes. Each renews the
 * environment lock. Cluster errors keep their names (ClusterUnreachable, ClusterThrottled,
 * ClusterRejected) for the state machine's Retry and Catch.
 */
import { calendarKeys } from '../calendar/keys.ts';
import { applyWorkload, type ClusterTarget, readRollout } from '../k8s/cluster-client.ts';
import { renderDeployment } from '../k8s/workload.ts';
import { ID_PATTERN } from '../store/ids.ts';
import { keys } from '../store/keys.ts';
import { getMany, type Item } from '../store/table.ts';
import { renew } from './environment-lock.ts';
import { checkFreezeBeforeApply } from './freeze-check.ts';
import { deliveryKeys } from './keys.ts';
import { type DeploymentView, eventNoun } from './model.ts';
import { advance, advanceBeforeActing, DeploymentNotFound } from './progress.ts';
import type { Release } from './releases.ts';
import { restoreTarget, rolloutVerdict, workloadOf } from './rollout-plan.ts';
import { lockLeaseSeconds } from './settings.ts';

type Deployment = Item & DeploymentView;

/** Applies the workload; answers the generation the rollout check must see observed, and when it started. */
export async function applyRollout(
  deployment: Deployment,
  restore: boolean,
): Promise<{ generation: number; startedAt: string }> {
  const { app, env, cluster, current, rules } = await placementOf(deployment, !restore);
  // Restoring the last good release is the safe move, frozen or not.
  const overriding = restore ? [] : checkFreezeBeforeApply(deployment, rules);
  const restoring = restore ? restoreTarget(deployment, current) : undefined;
  if (restore && !restoring) throw new DeploymentNotFound('No release to restore');
  const workload = workloadOf(
    deployment,
    {
      app: { id: app.id, name: app.name, ...(app.labels ? { labels: app.labels } : {}) },
      env: { name: env.name, namespace: env.namespace },
    },
    restoring,
  );
  await renew({ appId: deployment.app_id, env: deployment.env }, deployment.id, lockLeaseSeconds());
  // Restoring is part of the failed deployment's end, not a step of its own.
  const applying = restore
    ? deployment
    : await advanceBeforeActing(deployment, {
        step: { state: 'applying', detail: `${workload.image} to ${env.namespace}` },
        also: overriding,
      });
  const applied = await applyWorkload(cluster, renderDeployment(workload), (earlier) =>
    isDeploymentOf(earlier, deployment),
  );
  const startedAt = new Date().toISOString();
  if (!restore) {
    await advance(applying, {
      step: { state: 'rolling_out', detail: `generation ${applied.generation}` },
      set: { applied_at: startedAt, applied_generation: applied.generation },
      event: `${eventNoun(deployment)} Started`,
    });
  }
  return { generation: applied.generation, startedAt };
}

/** Reads the rollout, records its counts when they moved, and judges it against the deadline. */
export async function checkRollout(deployment: Deployment, generation: number, startedAt: string) {
  const { app, env, cluster } = await placementOf(deployment);
  await renew({ appId: deployment.app_id, env: deployment.env }, deployment.id, lockLeaseSeconds());
  const status = await readRollout(cluster, env.namespace, app.name, generation);
  const rollout = {
    desired: status.desired,
    updated: status.updated,
    ready: status.ready,
    available: status.available,
  };
  // A failed deployment's restore runs the old release's pods: their digest is not this deployment's.
  const ours = status.digest && deployment.state !== 'rolling_back' && status.digest !== deployment.digest;
  const digest = ours ? { digest: status.digest } : {};
  if (JSON.stringify(rollout) !== JSON.stringify(deployment.rollout) || digest.digest) {
    await advance(deployment, { set: { rollout, ...digest } });
  }
  return rolloutVerdict(status, startedAt, deployment.progress_deadline_seconds);
}

/**
 * The deployment's app, environment and cluster, the environment's current release and, for the
 * check before an apply, the freeze rules (in the same BatchGetItem; rollout checks skip them).
 */
async function placementOf(deployment: Deployment, withFreezes = false) {
  const [app, env, head, rules] = await getMany([
    keys.app(deployment.app_id),
    keys.env(deployment.app_id, deployment.env),
    deliveryKeys.releaseHead(deployment.app_id, deployment.env),
    ...(withFreezes ? [calendarKeys.freezeRules()] : []),
  ]);
  if (!app || !env) throw new DeploymentNotFound(`The application or environment of ${deployment.id} no longer exists`);
  const [cluster] = await getMany([keys.cluster(env.cluster_id)]);
  if (!cluster) throw new DeploymentNotFound(`Cluster ${env.cluster_id} no longer exists`);
  return { app, env, cluster: cluster as ClusterTarget, current: head?.current as Release | undefined, rules };
}

/** A Deployment an earlier Slipway applied is this environment's if the deployment it names was (ADR 12). */
async function isDeploymentOf(earlierId: string, deployment: Deployment): Promise<boolean> {
  if (!ID_PATTERN.test(earlierId)) return false;
  const [earlier] = await getMany([deliveryKeys.deployment(earlierId)]);
  return earlier?.app_id === deployment.app_id && earlier?.env === deployment.env;
}
