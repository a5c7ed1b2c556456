import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger } from './logger.ts';
import { tracing } from './telemetry/tracing.ts';

/**
 * A function's exported `handler`. The context is optional because middy supplies an empty one
 * when code calls a handler directly; Lambda always passes it.
 */
export type LambdaHandler<E, R> = (event: E, context?: Context) => Promise<R>;

/**
 * The one wrapper of every function (API, workflow step, bus and stream consumer): middy with the
 * structured logger's Lambda context, reset on every call so no key leaks into the next event.
 */
export function lambda<E, R>(fn: (event: E, context: Context) => Promise<R>): LambdaHandler<E, R> {
  // Metrics and tracing (Powertools logMetrics, captureLambdaHandler) plug in here, for every function at once.
  return middy(fn)
    .use(tracing())
    .use(injectLambdaContext(logger, { resetKeys: true })) as LambdaHandler<E, R>;
}
