import { openApproval, type Protection } from '../../shared/delivery/approvals.ts';
import { renew } from '../../shared/delivery/environment-lock.ts';
import { DeploymentNotFound, loadActiveDeployment } from '../../shared/delivery/progress.ts';
import { type StepInput, workflowStep } from '../../shared/delivery/step.ts';
import { keys } from '../../shared/store/keys.ts';
import { getMany } from '../../shared/store/table.ts';

/**
 * The approval step (`lambda:invoke.waitForTaskToken`): records the approval with the task token
 * the API will answer with, and keeps the environment lock for as long as the approval may wait.
 */
export const handler = workflowStep({
  async request({ deployment_id, token }: StepInput) {
    const deployment = await loadActiveDeployment(deployment_id);
    const [env] = await getMany([keys.env(deployment.app_id, deployment.env)]);
    if (!env) throw new DeploymentNotFound(`Environment ${deployment.env} no longer exists`);
    const protection = env.protection as Protection;
    const timeoutSeconds = protection.approval_timeout_minutes * 60;
    await renew({ appId: deployment.app_id, env: deployment.env }, deployment_id, timeoutSeconds + 300);
    const approval = await openApproval(deployment, protection, String(token), timeoutSeconds);
    return { approval_id: approval.id };
  },
});
