import { renew } from '../../shared/delivery/environment-lock.ts';
import { deliveryKeys } from '../../shared/delivery/keys.ts';
import {
  advance,
  advanceBeforeActing,
  DeploymentNotFound,
  loadActiveDeployment,
} from '../../shared/delivery/progress.ts';
import type { Release } from '../../shared/delivery/releases.ts';
import { lockLeaseSeconds, rolloutCheckWaitSeconds } from '../../shared/delivery/settings.ts';
import { type StepInput, workflowStep } from '../../shared/delivery/step.ts';
import { applyWorkload, type ClusterTarget, readRollout } from '../../shared/k8s/cluster-client.ts';
import { renderDeployment } from '../../shared/k8s/workload.ts';
import { keys } from '../../shared/store/keys.ts';
import { getMany, type Item } from '../../shared/store/table.ts';

/**
 * The only function that reaches clusters: applies a deployment's workload (or, on the rollback
 * path, the environment's current release) and reads its rollout. Cluster errors keep their names
 * (ClusterUnreachable, ClusterThrottled, ClusterRejected) for the state machine's Retry and Catch.
 */
export const handler = workflowStep({
  async apply({ deployment_id, restore }: StepInput) {
    const deployment = await loadActiveDeployment(deployment_id);
    const { app, env, cluster, head } = await target(deployment);
    const release = restore ? (head?.current as Release | undefined) : undefined;
    if (restore && !release) throw new DeploymentNotFound('No release to restore');
    const spec = release ?? deployment;
    await renew({ appId: deployment.app_id, env: deployment.env }, deployment_id, lockLeaseSeconds());
    const applying = restore
      ? deployment
      : await advanceBeforeActing(deployment, {
          step: { state: 'applying', detail: `${spec.image} to ${env.namespace}` },
        });
    const applied = await applyWorkload(
      cluster,
      renderDeployment({
        app: { id: app.id, name: app.name, ...(app.labels ? { labels: app.labels } : {}) },
        env: { name: env.name, namespace: env.namespace },
        image: spec.image,
        replicas: spec.replicas,
        strategy: k8sStrategy(spec.strategy),
        deploymentId: deployment_id,
        revision: release?.revision ?? 0,
        progressDeadlineSeconds: spec.progress_deadline_seconds ?? deployment.progress_deadline_seconds,
      }),
    );
    const startedAt = new Date().toISOString();
    if (!restore) {
      await advance(applying, {
        step: { state: 'rolling_out', detail: `generation ${applied.generation}` },
        set: { applied_at: startedAt, applied_generation: applied.generation },
        event: `${deployment.kind === 'rollback' ? 'Rollback' : 'Deployment'} Started`,
      });
    }
    return { generation: applied.generation, started_at: startedAt, attempt: 0 };
  },

  async check({ deployment_id, generation, started_at, attempt }: StepInput) {
    const deployment = await loadActiveDeployment(deployment_id);
    const { app, env, cluster } = await target(deployment);
    await renew({ appId: deployment.app_id, env: deployment.env }, deployment_id, lockLeaseSeconds());
    const status = await readRollout(cluster, env.namespace, app.name, Number(generation));
    const rollout = {
      desired: status.desired,
      updated: status.updated,
      ready: status.ready,
      available: status.available,
    };
    if (JSON.stringify(rollout) !== JSON.stringify(deployment.rollout)) await advance(deployment, { set: { rollout } });
    const deadline = Date.parse(String(started_at)) + deployment.progress_deadline_seconds * 1000;
    const overdue = status.phase === 'progressing' && Date.now() > deadline;
    const n = Number(attempt ?? 0);
    return {
      phase: overdue ? 'failed' : status.phase,
      ...(overdue
        ? { reason: `pods not available within ${deployment.progress_deadline_seconds} s` }
        : status.reason
          ? { reason: [status.reason, status.message].filter(Boolean).join(': ') }
          : {}),
      generation,
      started_at,
      attempt: n + 1,
      wait_seconds: rolloutCheckWaitSeconds(n),
    };
  },
});

async function target(deployment: Item) {
  const [app, env, head] = await getMany([
    keys.app(deployment.app_id),
    keys.env(deployment.app_id, deployment.env),
    deliveryKeys.releaseHead(deployment.app_id, deployment.env),
  ]);
  if (!app || !env) throw new DeploymentNotFound(`The application or environment of ${deployment.id} no longer exists`);
  const [cluster] = await getMany([keys.cluster(env.cluster_id)]);
  if (!cluster) throw new DeploymentNotFound(`Cluster ${env.cluster_id} no longer exists`);
  return { app, env, cluster: cluster as ClusterTarget, head };
}

function k8sStrategy(strategy: Record<string, unknown> | undefined) {
  if (strategy?.type === 'recreate') return { type: 'Recreate' as const };
  return {
    type: 'RollingUpdate' as const,
    ...(strategy?.max_surge === undefined ? {} : { max_surge: strategy.max_surge as number }),
    ...(strategy?.max_unavailable === undefined ? {} : { max_unavailable: strategy.max_unavailable as number }),
  };
}
