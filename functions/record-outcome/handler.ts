import { expireApproval, protectionOf } from '../../shared/delivery/approvals.ts';
import {
  recordFailure,
  recordRejection,
  recordRollback,
  recordSuccess,
  startRollingBack,
} from '../../shared/delivery/outcome.ts';
import { loadActiveDeployment, loadDeployment } from '../../shared/delivery/progress.ts';
import { describeFailure, type StepInput, workflowStep } from '../../shared/delivery/step.ts';

/**
 * Workflow steps that record where a deployment stands: its start (what the workflow needs to
 * know), its releases, and every way it can end.
 */
export const handler = workflowStep({
  async start({ deployment_id }: StepInput) {
    const protection = await protectionOf(await loadDeployment(deployment_id));
    return {
      requires_approval: protection.requires_approval,
      approval_timeout_seconds: protection.approval_timeout_minutes * 60,
    };
  },

  async succeeded({ deployment_id }: StepInput) {
    return { revision: await recordSuccess(await loadDeployment(deployment_id)) };
  },

  /** The rollout failed: is there a release to go back to? */
  async rolling_back({ deployment_id, error }: StepInput) {
    const deployment = await loadActiveDeployment(deployment_id);
    const reason = describeFailure(error);
    const revision = await startRollingBack(deployment, reason);
    return revision === undefined ? { has_previous: false, reason } : { has_previous: true, revision };
  },

  async rolled_back({ deployment_id }: StepInput) {
    return { revision: await recordRollback(await loadDeployment(deployment_id)) };
  },

  async failed({ deployment_id, error }: StepInput) {
    return { reason: await recordFailure(await loadDeployment(deployment_id), describeFailure(error)) };
  },

  async rejected({ deployment_id, error }: StepInput) {
    const reason = describeFailure(error);
    await recordRejection(await loadDeployment(deployment_id), reason);
    return { reason };
  },

  async expired({ deployment_id }: StepInput) {
    await expireApproval(await loadDeployment(deployment_id));
    return {};
  },
});
