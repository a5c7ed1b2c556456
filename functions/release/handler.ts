import { expireApproval, type Protection } from '../../shared/delivery/approvals.ts';
import { deliveryKeys } from '../../shared/delivery/keys.ts';
import { advance, DeploymentNotFound, loadActiveDeployment, loadDeployment } from '../../shared/delivery/progress.ts';
import { type Release, releaseWrites } from '../../shared/delivery/releases.ts';
import { describeFailure, type StepInput, workflowStep } from '../../shared/delivery/step.ts';
import { keys } from '../../shared/store/keys.ts';
import { getMany, type Item } from '../../shared/store/table.ts';

/**
 * Workflow steps that record where a deployment stands: its start (what the workflow needs to
 * know), its releases, and every way it can end.
 */
const noun = (d: { kind: string }) => (d.kind === 'rollback' ? 'Rollback' : 'Deployment');

export const handler = workflowStep({
  async start({ deployment_id }: StepInput) {
    const deployment = await loadDeployment(deployment_id);
    const [env] = await getMany([keys.env(deployment.app_id, deployment.env)]);
    if (!env) throw new DeploymentNotFound(`Environment ${deployment.env} of ${deployment.app_name} no longer exists`);
    const protection = env.protection as Protection;
    return {
      requires_approval: protection.requires_approval,
      approval_timeout_seconds: protection.approval_timeout_minutes * 60,
    };
  },

  async succeeded({ deployment_id }: StepInput) {
    const deployment = await loadDeployment(deployment_id);
    const { revision, writes } = await newRelease(deployment, 'succeeded');
    await advance(deployment, {
      step: { state: 'succeeded', detail: `revision ${revision} is live` },
      set: { revision },
      event: `${noun(deployment)} Succeeded`,
      also: writes,
    });
    return { revision };
  },

  /** The rollout failed: is there a release to go back to? */
  async rolling_back({ deployment_id, error }: StepInput) {
    const deployment = await loadActiveDeployment(deployment_id);
    const [head] = await getMany([deliveryKeys.releaseHead(deployment.app_id, deployment.env)]);
    const previous = head?.current as Release | undefined;
    const reason = describeFailure(error);
    if (!previous || deployment.kind === 'rollback') return { has_previous: false, reason };
    await advance(deployment, {
      step: { state: 'rolling_back', detail: `${reason}; rolling back to revision ${previous.revision}` },
      set: { reason, rollback_to: previous.revision },
      event: 'Deployment Rolling Back',
    });
    return { has_previous: true, revision: previous.revision };
  },

  async rolled_back({ deployment_id }: StepInput) {
    const deployment = await loadDeployment(deployment_id);
    const { revision, writes } = await newRelease(deployment, 'rolled_back');
    await advance(deployment, {
      step: {
        state: 'rolled_back',
        detail: `revision ${revision} failed; revision ${deployment.rollback_to} restored`,
      },
      set: { revision },
      event: 'Deployment Rolled Back',
      also: writes,
    });
    return { revision };
  },

  async failed({ deployment_id, error }: StepInput) {
    const deployment = await loadDeployment(deployment_id);
    const reason =
      (deployment.state === 'rolling_back' ? `${deployment.reason}; the rollback failed too: ` : '') +
      describeFailure(error);
    // Only a deployment that reached the cluster is a release (a failed one) in the history.
    const release = deployment.applied_at ? await newRelease(deployment, 'failed') : undefined;
    await advance(deployment, {
      step: { state: 'failed', detail: reason },
      set: { reason, ...(release ? { revision: release.revision } : {}) },
      event: `${noun(deployment)} Failed`,
      also: release?.writes ?? [],
    });
    return { reason };
  },

  async rejected({ deployment_id, error }: StepInput) {
    const deployment = await loadDeployment(deployment_id);
    const reason = describeFailure(error);
    await advance(deployment, {
      step: { state: 'rejected', detail: reason },
      set: { reason },
      event: `${noun(deployment)} Rejected`,
    });
    return { reason };
  },

  async expired({ deployment_id }: StepInput) {
    await expireApproval(await loadDeployment(deployment_id));
    return {};
  },
});

async function newRelease(deployment: Item, outcome: Release['outcome']) {
  const [head] = await getMany([deliveryKeys.releaseHead(deployment.app_id, deployment.env)]);
  return releaseWrites(deployment.app_id, deployment.env, head, {
    image: deployment.image,
    replicas: deployment.replicas,
    strategy: deployment.strategy,
    progress_deadline_seconds: deployment.progress_deadline_seconds,
    deployment_id: deployment.id,
    kind: deployment.kind,
    deployed_by: deployment.requested_by,
    deployed_at: new Date().toISOString(),
    outcome,
    ...(deployment.kind === 'rollback' ? { restored_revision: deployment.target_revision } : {}),
  });
}
