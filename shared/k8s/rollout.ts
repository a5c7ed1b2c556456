import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { clusterText } from './cluster-text.ts';

/** Where a Deployment's rollout stands, as `kubectl rollout status` judges it. */
export interface RolloutStatus {
  phase: 'progressing' | 'complete' | 'failed';
  desired: number;
  updated: number;
  ready: number;
  available: number;
  observed_generation: number;
  reason?: string;
  message?: string;
  /** Once complete: the digest the pods run (`sha256:…`), from their containers' imageID. */
  digest?: string;
}

/** The reason the deployment controller sets on the Progressing condition when the deadline passes. */
export const PROGRESS_DEADLINE_EXCEEDED = 'ProgressDeadlineExceeded';

/**
 * kubectl's DeploymentStatusViewer, step for step. `generation` is the one our apply returned;
 * a later change by someone else raises the bar to the object's own generation, as kubectl does.
 */
export function rolloutStatus(deployment: V1Deployment, generation: number): RolloutStatus {
  const name = deployment.metadata?.name ?? 'deployment';
  const status = deployment.status ?? {};
  const counts = {
    desired: deployment.spec?.replicas ?? 1,
    updated: status.updatedReplicas ?? 0,
    ready: status.readyReplicas ?? 0,
    available: status.availableReplicas ?? 0,
    observed_generation: status.observedGeneration ?? 0,
  };
  const replicas = status.replicas ?? 0;
  const progressing = (message: string): RolloutStatus => ({ phase: 'progressing', ...counts, message });

  if (counts.observed_generation < Math.max(generation, deployment.metadata?.generation ?? 0)) {
    return progressing('Waiting for deployment spec update to be observed...');
  }
  const condition = status.conditions?.find((one) => one.type === 'Progressing');
  if (condition?.reason === PROGRESS_DEADLINE_EXCEEDED) {
    const detail = condition.message ? `: ${condition.message}` : '';
    return {
      phase: 'failed',
      ...counts,
      reason: PROGRESS_DEADLINE_EXCEEDED,
      // The condition's message is the cluster's text, and it becomes the deployment's reason.
      message: clusterText(`deployment "${name}" exceeded its progress deadline${detail}`),
    };
  }
  if (counts.updated < counts.desired) {
    return progressing(`${counts.updated} out of ${counts.desired} new replicas have been updated...`);
  }
  if (replicas > counts.updated) {
    return progressing(`${replicas - counts.updated} old replicas are pending termination...`);
  }
  if (counts.available < counts.updated) {
    return progressing(`${counts.available} of ${counts.updated} updated replicas are available...`);
  }
  return { phase: 'complete', ...counts, message: `deployment "${name}" successfully rolled out` };
}

/**
 * The digest the rollout's pods actually run: the imageID a ready container of the Deployment's
 * image reports (`repo@sha256:…`), so a tag that moves later does not change what was released.
 */
export function runningDigest(deployment: V1Deployment, pods: readonly V1Pod[]): string | undefined {
  const image = deployment.spec?.template?.spec?.containers?.[0]?.image;
  if (!image) return undefined;
  for (const pod of pods) {
    for (const container of pod.status?.containerStatuses ?? []) {
      if (container.image !== image || !container.ready) continue;
      const digest = /@(sha256:[a-f0-9]{64})$/.exec(container.imageID ?? '')?.[1];
      if (digest) return digest;
    }
  }
  return undefined;
}
