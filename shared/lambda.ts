import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { config } from './config.ts';
import { logger } from './logger.ts';
import { publishMetrics } from './telemetry/emf.ts';
import { recordingMetrics } from './telemetry/metrics.ts';

/**
 * A function's exported `handler`. The context is optional because middy supplies an empty one
 * when code calls a handler directly; Lambda always passes it.
 */
export type LambdaHandler<E, R> = (event: E, context?: Context) => Promise<R>;

/** A middy middleware some functions add to the house wrapper (middy stays in this module). */
export type Middleware = MiddlewareObj;

/**
 * The one wrapper of every function (API, workflow step, bus and stream consumer): middy with the
 * structured logger's Lambda context, reset on every call so no key leaks into the next event, and
 * the metrics the invocation recorded published as EMF when it ends (none recorded, no line). `extra`:
 * what only some functions carry, e.g. the X-Ray tracer of those that reach clusters (ADR 28).
 */
export function lambda<E, R>(
  fn: (event: E, context: Context) => Promise<R>,
  extra: readonly Middleware[] = [],
): LambdaHandler<E, R> {
  const handler = middy(withMetrics(fn));
  for (const middleware of extra) handler.use(middleware);
  return handler.use(injectLambdaContext(logger, { resetKeys: true })) as LambdaHandler<E, R>;
}

/** The invocation's own metric record around the handler (a middy middleware cannot scope an AsyncLocalStorage). */
const withMetrics =
  <E, R>(fn: (event: E, context: Context) => Promise<R>) =>
  (event: E, context: Context): Promise<R> =>
    recordingMetrics(
      () => fn(event, context),
      (recorded) => publishMetrics(recorded, context?.functionName || config.serviceName),
    );
