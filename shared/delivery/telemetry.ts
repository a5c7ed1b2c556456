/**
 * What a deployment's moves tell the metrics (shared/telemetry/metrics.ts, ADR 27): counts by
 * kind and outcome, and its time split into queue wait, approval wait and apply plus rollout.
 * Recorded after the move is committed, so a refused or repeated move counts nothing.
 */
import { millisBetween, recordMetric } from '../telemetry/metrics.ts';
import { type DeploymentState, type DeploymentView, FINAL_STATES } from './model.ts';

/** The environment's deployment tier (issue 11 copies it onto the deployment); older records have none. */
const tierOf = (deployment: DeploymentView): string => (deployment as { tier?: string }).tier ?? 'other';
const about = (deployment: DeploymentView) => ({ deployment_id: deployment.id });
const stepAt = (deployment: DeploymentView, state: DeploymentState) =>
  deployment.steps.find((step) => step.state === state)?.at;

export function deploymentQueued(deployment: DeploymentView): void {
  recordMetric('DeploymentsStarted', 1, { Kind: deployment.kind, Tier: tierOf(deployment) }, about(deployment));
}

/** Its first ask for the environment's lock: how many deployments hold or wait ahead of it. */
export function firstInQueue(deployment: DeploymentView, ahead: number): void {
  recordMetric(
    'DeployQueueDepth',
    ahead,
    { Tier: tierOf(deployment) },
    { app_id: deployment.app_id, env: deployment.env },
  );
}

export function lockAcquired(deployment: DeploymentView, at: string): void {
  recordMetric(
    'DeployQueueWait',
    millisBetween(deployment.created_at, at),
    { Tier: tierOf(deployment) },
    about(deployment),
  );
}

/** A committed move of `before` to `state` at `at`. */
export function deploymentMoved(before: DeploymentView, state: DeploymentState, at: string): void {
  const tier = { Tier: tierOf(before) };
  // Approved (the workflow applies) or rejected: the approval was decided.
  if (before.state === 'waiting_for_approval' && (state === 'applying' || state === 'rejected')) {
    recordMetric('DeployApprovalWait', millisBetween(stepAt(before, 'waiting_for_approval'), at), tier, about(before));
  }
  if (!FINAL_STATES.has(state)) return;
  recordMetric('DeploymentsFinished', 1, { Outcome: state, ...tier }, about(before));
  recordMetric('DeployDuration', millisBetween(before.created_at, at), tier, about(before));
  recordMetric('DeployApplyTime', millisBetween(stepAt(before, 'applying'), at), tier, about(before));
}
