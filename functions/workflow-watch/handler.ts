import { expireApproval } from '../../shared/delivery/approvals.ts';
import { release } from '../../shared/delivery/environment-lock.ts';
import { eventNoun, FINAL_STATES } from '../../shared/delivery/model.ts';
import { advance, DeploymentNotFound, loadDeployment } from '../../shared/delivery/progress.ts';
import { lambda } from '../../shared/lambda.ts';
import { logger } from '../../shared/logger.ts';
import { RunNotFound } from '../../shared/pipelines/progress.ts';
import { failRun } from '../../shared/pipelines/stages.ts';

/** Step Functions' "Execution Status Change" event, as the default bus delivers it (the fields we read). */
interface ExecutionStatusChange {
  detail: { executionArn: string; status: string; input?: string; cause?: string | null; error?: string | null };
}

/**
 * Step Functions' own event for an execution that ended ABORTED, TIMED_OUT or FAILED. A stopped or
 * timed-out execution runs no Catch, so nothing recorded its end: this ends the deployment (failed;
 * expired when it waited for approval) and frees its lock, instead of leaving both to the lease. A
 * deployment already final is left as it is (our own Fail state comes after recording, and a cancel
 * records itself before it stops the execution). A pipeline run is ended the same way (failed),
 * which frees its place in its lane.
 */
export const handler = lambda(async (event: ExecutionStatusChange): Promise<{ ended: boolean }> => {
  const { executionArn, status, input, cause, error } = event.detail;
  const runId = idIn(input, 'run_id');
  if (runId)
    return endRun(runId, { Error: `the workflow ended ${status}`, Cause: [error, cause].filter(Boolean).join(': ') });
  const deploymentId = idIn(input, 'deployment_id');
  if (!deploymentId) return { ended: false };
  let deployment: Awaited<ReturnType<typeof loadDeployment>>;
  try {
    deployment = await loadDeployment(deploymentId);
  } catch (e) {
    if (e instanceof DeploymentNotFound) return { ended: false };
    throw e;
  }
  if (FINAL_STATES.has(deployment.state)) return { ended: false };

  const reason = `the workflow ended ${status}${error || cause ? `: ${[error, cause].filter(Boolean).join(': ')}` : ''}`;
  logger.warn('Ending a deployment its workflow left unfinished', {
    deployment_id: deploymentId,
    executionArn,
    status,
  });
  if (deployment.state === 'waiting_for_approval') {
    await expireApproval(deployment, reason);
  } else {
    await advance(deployment, {
      step: { state: 'failed', detail: reason },
      set: { reason },
      event: `${eventNoun(deployment)} Failed`,
    });
  }
  await release({ appId: deployment.app_id, env: deployment.env }, deploymentId);
  return { ended: true };
});

async function endRun(runId: string, failure: { Error: string; Cause: string }): Promise<{ ended: boolean }> {
  try {
    return { ended: (await failRun(runId, failure)).state !== undefined };
  } catch (e) {
    if (e instanceof RunNotFound) return { ended: false };
    throw e;
  }
}

function idIn(input: string | undefined, field: 'deployment_id' | 'run_id'): string | undefined {
  try {
    const id = (JSON.parse(input ?? '{}') as Record<string, unknown>)[field];
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
