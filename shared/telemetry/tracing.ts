/**
 * The X-Ray tracer (Powertools Tracer, ADR 28), for the functions that reach clusters only: it
 * records their cluster API calls (and AWS SDK calls) as subsegments of the invocation, which
 * Lambda's own tracing cannot see. Everywhere else the trace is carried on without it
 * (trace-context.ts): the tracer and the X-Ray SDK it wraps weigh ~130 KB, 1.39x the floor alone.
 * Outside Lambda (the local cloud, tests) or with POWERTOOLS_TRACE_ENABLED=false it is off and
 * reaches for no daemon.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { config } from '../config.ts';

const tracer = new Tracer({ serviceName: config.serviceName });

/** The middy middleware a traced function adds to `lambda()`; responses stay out of the segments (they hold people's data). */
export const tracing = () => captureLambdaHandler(tracer, { captureResponse: false });
