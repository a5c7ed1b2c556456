/**
 * The running invocation's X-Ray trace, as Lambda's runtime hands it over (ADR 28): read per
 * invocation from its InvokeStore (`globalThis.awslambda.InvokeStore`), else `_X_AMZN_TRACE_ID`; the
 * local runtime fills both per invocation too. No tracer here: carrying the trace on costs every
 * function nothing, and Lambda's active tracing records each invocation's segment by itself.
 */

/** What Lambda's runtime exposes per invocation, as far as it is read here. */
type InvokeStore = { getXRayTraceId(): string | undefined };
const invokeStore = () => (globalThis as { awslambda?: { InvokeStore?: InvokeStore } }).awslambda?.InvokeStore;

/** `Root=1-…;Parent=…;Sampled=1` as received, field by field. */
function received(): Map<string, string> {
  const header = invokeStore()?.getXRayTraceId() ?? process.env._X_AMZN_TRACE_ID ?? '';
  return new Map(
    header
      .split(';')
      .map((field) => field.split('=') as [string, string | undefined])
      .filter((pair): pair is [string, string] => pair[1] !== undefined),
  );
}

/** The running invocation's X-Ray trace id (`1-5759e988-bd862e3fe1be46a994272793`), if it has one. */
export const traceId = (): string | undefined => received().get('Root') || undefined;

/**
 * The header to hand the trace on with (StartExecution's `traceHeader`): the invocation's own, so
 * the workflow hangs under the function's segment in the same trace.
 */
export function traceHeader(): string | undefined {
  const fields = received();
  const root = fields.get('Root');
  if (!root) return undefined;
  const parent = fields.get('Parent');
  const sampled = fields.get('Sampled');
  return [`Root=${root}`, parent && `Parent=${parent}`, sampled && `Sampled=${sampled}`].filter(Boolean).join(';');
}
