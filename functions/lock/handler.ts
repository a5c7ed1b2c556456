import { release, renew, tryAcquire } from '../../shared/delivery/environment-lock.ts';
import { advance, loadActiveDeployment, loadDeployment } from '../../shared/delivery/progress.ts';
import { lockLeaseSeconds } from '../../shared/delivery/settings.ts';
import { type StepInput, workflowStep } from '../../shared/delivery/step.ts';
import { firstInQueue, lockAcquired } from '../../shared/delivery/telemetry.ts';

const envOf = (d: { app_id: string; env: string }) => ({ appId: d.app_id, env: d.env });

export const handler = workflowStep({
  async acquire({ deployment_id }: StepInput) {
    const deployment = await loadActiveDeployment(deployment_id);
    const result = await tryAcquire(envOf(deployment), deployment_id, lockLeaseSeconds());
    // Still `queued`: its first ask (a wait moves it to waiting_for_lock).
    if (deployment.state === 'queued') {
      firstInQueue(deployment, result.acquired ? 0 : result.position - 1 + (result.holder ? 1 : 0));
    }
    if (result.acquired) lockAcquired(deployment, new Date().toISOString());
    if (!result.acquired && deployment.state === 'queued') {
      const behind = result.holder ? ` behind ${result.holder}` : '';
      await advance(deployment, {
        step: { state: 'waiting_for_lock', detail: `position ${result.position} in the queue${behind}` },
      });
    }
    return { acquired: result.acquired, ...(result.acquired ? {} : { position: result.position }) };
  },

  async renew({ deployment_id, lease_seconds }: StepInput) {
    const deployment = await loadDeployment(deployment_id);
    await renew(envOf(deployment), deployment_id, Number(lease_seconds ?? lockLeaseSeconds()));
    return {};
  },

  async release({ deployment_id }: StepInput) {
    const deployment = await loadDeployment(deployment_id);
    await release(envOf(deployment), deployment_id);
    return { released: true };
  },
});
