import { openApproval, protectionOf } from '../../shared/delivery/approvals.ts';
import { renew } from '../../shared/delivery/environment-lock.ts';
import { loadActiveDeployment } from '../../shared/delivery/progress.ts';
import { type StepInput, workflowStep } from '../../shared/delivery/step.ts';

/**
 * The approval step (`lambda:invoke.waitForTaskToken`): records the approval with the task token
 * the API will answer with, and keeps the environment lock for as long as the approval may wait.
 */
export const handler = workflowStep({
  async request({ deployment_id, token }: StepInput) {
    const deployment = await loadActiveDeployment(deployment_id);
    const protection = await protectionOf(deployment);
    const timeoutSeconds = protection.approval_timeout_minutes * 60;
    await renew({ appId: deployment.app_id, env: deployment.env }, deployment_id, timeoutSeconds + 300);
    const approval = await openApproval(deployment, protection, String(token), timeoutSeconds);
    return { approval_id: approval.id };
  },
});
