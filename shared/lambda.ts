import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { config } from './config.ts';
import { logger } from './logger.ts';
import { publishMetrics } from './telemetry/emf.ts';
import { recordingMetrics } from './telemetry/metrics.ts';
import { tracing } from './telemetry/tracing.ts';

/**
 * A function's exported `handler`. The context is optional because middy supplies an empty one
 * when code calls a handler directly; Lambda always passes it.
 */
export type LambdaHandler<E, R> = (event: E, context?: Context) => Promise<R>;

/**
 * The one wrapper of every function (API, workflow step, bus and stream consumer): middy with the
 * structured logger's Lambda context, reset on every call so no key leaks into the next event, and
 * the metrics the invocation recorded published as EMF when it ends (none recorded, no line), and
 * the invocation traced in X-Ray (its trace id carried on to the workflows it starts).
 */
export function lambda<E, R>(fn: (event: E, context: Context) => Promise<R>): LambdaHandler<E, R> {
  return middy(withMetrics(fn))
    .use(tracing())
    .use(injectLambdaContext(logger, { resetKeys: true })) as LambdaHandler<E, R>;
}

/** The invocation's own metric record around the handler (a middy middleware cannot scope an AsyncLocalStorage). */
const withMetrics =
  <E, R>(fn: (event: E, context: Context) => Promise<R>) =>
  (event: E, context: Context): Promise<R> =>
    recordingMetrics(
      () => fn(event, context),
      (recorded) => publishMetrics(recorded, context?.functionName || config.serviceName),
    );
