import { applyRollout, checkRollout } from '../../shared/delivery/cluster-rollout.ts';
import { loadActiveDeployment } from '../../shared/delivery/progress.ts';
import { rolloutCheckWaitSeconds } from '../../shared/delivery/settings.ts';
import { type StepInput, workflowStep } from '../../shared/delivery/step.ts';
import { tracing } from '../../shared/telemetry/tracing.ts';

/**
 * The only function that reaches clusters: applies a deployment's workload (or, on the rollback
 * path, the environment's current release) and reads its rollout. Cluster errors keep their names
 * (ClusterUnreachable, ClusterThrottled, ClusterRejected) for the state machine's Retry and Catch.
 */
export const handler = workflowStep(
  {
    async apply({ deployment_id, restore }: StepInput) {
      const deployment = await loadActiveDeployment(deployment_id);
      const { generation, startedAt } = await applyRollout(deployment, Boolean(restore));
      return { generation, started_at: startedAt, attempt: 0 };
    },

    async check({ deployment_id, generation, started_at, attempt }: StepInput) {
      const deployment = await loadActiveDeployment(deployment_id);
      const verdict = await checkRollout(deployment, Number(generation), String(started_at));
      const n = Number(attempt ?? 0);
      return { ...verdict, generation, started_at, attempt: n + 1, wait_seconds: rolloutCheckWaitSeconds(n) };
    },
  },
  [tracing()],
);
