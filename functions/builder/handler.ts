import { collectBuild, recordBuildFailure, recordBuildSuccess, startBuild } from '../../shared/builds/steps.ts';
import { type BuildStepInput, workflowStep } from '../../shared/delivery/step.ts';
import { tracing } from '../../shared/telemetry/tracing.ts';

/**
 * The build workflow's steps, and the only function that creates Jobs on clusters or reads build
 * credentials: start the Job, collect its log and status, record how it ended (deleting the Job).
 * Cluster errors keep their names (ClusterUnreachable, ClusterThrottled, ClusterRejected) for the
 * state machine's Retry and Catch.
 */
export const handler = workflowStep<BuildStepInput>(
  {
    start: ({ build_id }) => startBuild(build_id),
    collect: ({ build_id, attempt }) => collectBuild(build_id, Number(attempt ?? 0)),
    succeeded: ({ build_id, digest }) => recordBuildSuccess(build_id, String(digest)),
    failed: ({ build_id, error }) => recordBuildFailure(build_id, error),
  },
  [tracing()],
);
