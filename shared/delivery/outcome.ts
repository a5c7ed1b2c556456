/**
 * How a deployment ends, as its workflow records it: the final step with its reason and event,
 * and a release (the environment's next revision) for every attempt that reached the cluster, so
 * the history is honest. `reason` is the failure the workflow caught, already told in a sentence.
 * A release is counted in the DORA daily counters in the same write (ADR 29).
 */
import { doraKeys, doraWrites } from '../metrics/counters.ts';
import { getMany, type Item } from '../store/table.ts';
import { deliveryKeys } from './keys.ts';
import { type DeploymentView, eventNoun } from './model.ts';
import { advance } from './progress.ts';
import { type Release, releaseWrites } from './releases.ts';
import { restoreTarget } from './rollout-plan.ts';

type Deployment = Item & DeploymentView;

/** The rollout completed: the next revision is live and becomes the environment's current release. */
export async function recordSuccess(deployment: Deployment): Promise<number> {
  const { revision, writes, at } = await nextRelease(deployment, 'succeeded');
  await advance(deployment, {
    step: { state: 'succeeded', detail: `revision ${revision} is live` },
    set: { revision },
    event: `${eventNoun(deployment)} Succeeded`,
    also: writes,
    at,
  });
  return revision;
}

/** The rollout failed: answers the revision it goes back to, or undefined when there is none (or it is a rollback). */
export async function startRollingBack(deployment: Deployment, reason: string): Promise<number | undefined> {
  const [head] = await getMany([deliveryKeys.releaseHead(deployment.app_id, deployment.env)]);
  const previous = restoreTarget(deployment, head?.current as Release | undefined);
  if (!previous) return undefined;
  await advance(deployment, {
    step: { state: 'rolling_back', detail: `${reason}; rolling back to revision ${previous.revision}` },
    set: { reason, rollback_to: previous.revision },
    event: 'Deployment Rolling Back',
  });
  return previous.revision;
}

/** The previous release is back: the failed attempt is recorded as a revision of its own. */
export async function recordRollback(deployment: Deployment): Promise<number> {
  const { revision, writes, at } = await nextRelease(deployment, 'rolled_back');
  await advance(deployment, {
    step: { state: 'rolled_back', detail: `revision ${revision} failed; revision ${deployment.rollback_to} restored` },
    set: { revision },
    event: 'Deployment Rolled Back',
    also: writes,
    at,
  });
  return revision;
}

/** Answers the recorded reason, which says when the rollback failed too. */
export async function recordFailure(deployment: Deployment, failure: string): Promise<string> {
  const reason =
    (deployment.state === 'rolling_back' ? `${deployment.reason}; the rollback failed too: ` : '') + failure;
  // Only a deployment that reached the cluster is a release (a failed one) in the history.
  const release = deployment.applied_at ? await nextRelease(deployment, 'failed') : undefined;
  await advance(deployment, {
    step: { state: 'failed', detail: reason },
    set: { reason, ...(release ? { revision: release.revision } : {}) },
    event: `${eventNoun(deployment)} Failed`,
    also: release?.writes ?? [],
    ...(release ? { at: release.at } : {}),
  });
  return reason;
}

export async function recordRejection(deployment: Deployment, reason: string): Promise<void> {
  await advance(deployment, {
    step: { state: 'rejected', detail: reason },
    set: { reason },
    event: `${eventNoun(deployment)} Rejected`,
  });
}

/** The deployment as the environment's next revision, with how it ended, counted for DORA at the same instant. */
async function nextRelease(deployment: Deployment, outcome: Release['outcome']) {
  const at = new Date().toISOString();
  const [head, open] = await getMany([
    deliveryKeys.releaseHead(deployment.app_id, deployment.env),
    doraKeys.openFailure(deployment.app_id, deployment.env),
  ]);
  const release = releaseWrites(deployment.app_id, deployment.env, head, {
    image: deployment.image,
    ...(deployment.digest ? { digest: deployment.digest } : {}),
    replicas: deployment.replicas,
    strategy: deployment.strategy,
    progress_deadline_seconds: deployment.progress_deadline_seconds,
    deployment_id: deployment.id,
    kind: deployment.kind,
    deployed_by: deployment.requested_by,
    deployed_at: at,
    outcome,
    ...(deployment.kind === 'rollback' ? { restored_revision: deployment.target_revision } : {}),
  });
  const counted = doraWrites(deployment, outcome, at, head, open);
  return { revision: release.revision, writes: [...release.writes, ...counted], at };
}
