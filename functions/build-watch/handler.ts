import { endAbandonedBuild } from '../../shared/builds/steps.ts';
import { lambda } from '../../shared/lambda.ts';
import { tracing } from '../../shared/telemetry/tracing.ts';

/** Step Functions' "Execution Status Change" event, as the default bus delivers it (the fields we read). */
interface ExecutionStatusChange {
  detail: { status: string; input?: string; cause?: string | null; error?: string | null };
}

/**
 * A build execution that was stopped (its pipeline run cancelled) or timed out ran no Catch: this
 * ends the build (`cancelled` when stopped) and deletes its Job, which holds the build's credentials.
 * A build already final is left as it is; its Job is deleted all the same (gone already is fine).
 */
export const handler = lambda(
  async (event: ExecutionStatusChange): Promise<{ ended: boolean }> => {
    const { status, input, cause, error } = event.detail;
    const buildId = buildOf(input);
    if (!buildId) return { ended: false };
    const why = [error, cause].filter(Boolean).join(': ') || undefined;
    return { ended: await endAbandonedBuild(buildId, status, why) };
  },
  [tracing()],
);

function buildOf(input: string | undefined): string | undefined {
  try {
    const id = (JSON.parse(input ?? '{}') as { build_id?: unknown }).build_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
