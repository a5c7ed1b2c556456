/**
 * What a deployment puts on its cluster and how its rollout is judged, decided without any I/O:
 * the release a failed rollout goes back to, the workload to apply, the strategy in Kubernetes'
 * terms, and the progress deadline. shared/delivery/cluster-rollout.ts acts on these decisions.
 */
import type { RolloutStatus } from '../k8s/rollout.ts';
import type { RolloutStrategy, WorkloadInput } from '../k8s/workload.ts';
import type { DeploymentView } from './model.ts';
import type { Release } from './releases.ts';

/** The release a failed rollout goes back to: the environment's current one. A rollback never rolls itself back. */
export function restoreTarget(deployment: Pick<DeploymentView, 'kind'>, current: Release | undefined) {
  return deployment.kind === 'rollback' ? undefined : current;
}

/** Where the workload goes: the app's name and labels, the environment's namespace. */
export interface Placement {
  app: { id: string; name: string; labels?: Record<string, string> };
  env: { name: string; namespace: string };
}

/** The deployment's own workload, or (restoring) the release it goes back to, as the cluster will run it. */
export function workloadOf(
  deployment: Pick<DeploymentView, 'id' | 'image' | 'replicas' | 'strategy' | 'progress_deadline_seconds'>,
  placement: Placement,
  restoring?: Release,
): WorkloadInput {
  const spec = restoring ?? deployment;
  return {
    app: placement.app,
    env: placement.env,
    image: spec.image,
    replicas: spec.replicas,
    strategy: k8sStrategy(spec.strategy),
    deploymentId: deployment.id,
    revision: restoring?.revision ?? 0,
    progressDeadlineSeconds: spec.progress_deadline_seconds ?? deployment.progress_deadline_seconds,
  };
}

/** The API's `rolling` (the default) and `recreate`, in the Deployment's terms. */
export function k8sStrategy(strategy: Record<string, unknown> | undefined): RolloutStrategy {
  if (strategy?.type === 'recreate') return { type: 'Recreate' };
  return {
    type: 'RollingUpdate',
    ...(strategy?.max_surge === undefined ? {} : { max_surge: strategy.max_surge as number }),
    ...(strategy?.max_unavailable === undefined ? {} : { max_unavailable: strategy.max_unavailable as number }),
  };
}

export interface RolloutVerdict {
  phase: RolloutStatus['phase'];
  reason?: string;
}

/**
 * The cluster's own verdict, except that a rollout still progressing after the deployment's
 * deadline (counted from the apply) has failed: the cluster may never say so (an image that hangs).
 */
export function rolloutVerdict(
  status: Pick<RolloutStatus, 'phase' | 'reason' | 'message'>,
  startedAt: string,
  deadlineSeconds: number,
  now = Date.now(),
): RolloutVerdict {
  const overdue = status.phase === 'progressing' && now > Date.parse(startedAt) + deadlineSeconds * 1000;
  if (overdue) return { phase: 'failed', reason: `pods not available within ${deadlineSeconds} s` };
  if (!status.reason) return { phase: status.phase };
  return { phase: status.phase, reason: [status.reason, status.message].filter(Boolean).join(': ') };
}
