/**
 * Traces (ADR 28): one Powertools Tracer per container. On Lambda it records X-Ray segments (the
 * handler, and every HTTP call: AWS SDK requests and the cluster's API); outside Lambda (the local
 * cloud, tests) or with POWERTOOLS_TRACE_ENABLED=false it is off and reaches for no daemon. The trace
 * id flows either way: it is read per invocation where Lambda's runtime puts it (its InvokeStore,
 * else `_X_AMZN_TRACE_ID`), which the local runtime fills per invocation too.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { config } from '../config.ts';

export const tracer = new Tracer({ serviceName: config.serviceName });

/** The middy middleware of `lambda()`; responses stay out of the segments (they hold people's data). */
export const tracing = () => captureLambdaHandler(tracer, { captureResponse: false });

/** The running invocation's X-Ray trace id (`1-5759e988-bd862e3fe1be46a994272793`), if it has one. */
export const traceId = (): string | undefined => tracer.getRootXrayTraceId() || undefined;

/** What Lambda's runtime exposes per invocation (`globalThis.awslambda.InvokeStore`), as far as it is read here. */
type InvokeStore = { getXRayTraceId(): string | undefined };
const invokeStore = () => (globalThis as { awslambda?: { InvokeStore?: InvokeStore } }).awslambda?.InvokeStore;

/**
 * The header to hand the trace on with (StartExecution's `traceHeader`): the invocation's own, its
 * Parent being the segment now open when the tracer records, so the workflow hangs under this call.
 */
export function traceHeader(): string | undefined {
  const root = traceId();
  if (root === undefined) return undefined;
  const received = invokeStore()?.getXRayTraceId() ?? process.env._X_AMZN_TRACE_ID ?? '';
  const fields = new Map(
    received
      .split(';')
      .map((field) => field.split('=') as [string, string | undefined])
      .filter((pair): pair is [string, string] => pair[1] !== undefined),
  );
  const parent = tracer.isTracingEnabled() ? tracer.getSegment()?.id : fields.get('Parent');
  const sampled = fields.get('Sampled');
  return [`Root=${root}`, parent && `Parent=${parent}`, sampled && `Sampled=${sampled}`].filter(Boolean).join(';');
}
