import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { type Caller, callerFrom } from '../auth/caller.ts';
import type { Write } from '../store/table.ts';
import { IdempotencyClaim, validateIdempotencyKey } from './idempotency.ts';
import {
  internalError,
  malformedJson,
  notFound,
  Problem,
  payloadTooLarge,
  problemBody,
  unsupportedMediaType,
} from './problem.ts';
import type { ApiResult } from './response.ts';
import { validate } from './validation.ts';

/** Documented request body limit (API Gateway allows 10 MB; nothing we accept comes close). */
export const MAX_BODY_BYTES = 64 * 1024;

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'slipway' });

export interface ApiRequest {
  caller: Caller;
  routeKey: string;
  path: string;
  requestId: string;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  header(name: string): string | undefined;
  /** The JSON body, parsed and validated against a strict schema (400 otherwise). */
  body<S extends z.ZodMiniType>(schema: S): z.infer<S>;
  /** Present on a POST that carries Idempotency-Key: commit `completion(response)` with the write. */
  idempotency: IdempotencyClaim | undefined;
  /**
   * For a create: the writes to commit in the same transaction as the new record, i.e. the
   * idempotency record holding the response this request will answer (none without a key).
   */
  alsoCommit<T>(respond: (view: T) => ApiResult): AlsoCommit<T>;
}

export type AlsoCommit<T> = (view: T) => Write[];

export type Route = (req: ApiRequest) => Promise<ApiResult>;

type Event = APIGatewayProxyEventV2WithJWTAuthorizer;

/**
 * The one HTTP kernel every API function uses: routes by API Gateway's routeKey, parses and
 * bounds the body, runs idempotency for POST, and maps every error to problem+json in one place.
 */
export function api(routes: Record<string, Route>) {
  const run = async (event: Event, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const instance = event.requestContext?.requestId ?? context.awsRequestId;
    let claim: IdempotencyClaim | undefined;
    try {
      const route = routes[event.routeKey];
      if (!route) throw notFound(`Route ${event.routeKey}`);
      const req = buildRequest(event, instance);
      const key = req.header('idempotency-key');
      if (event.requestContext.http.method === 'POST' && key !== undefined) {
        const attempt = new IdempotencyClaim(
          req.caller,
          event.routeKey,
          event.rawPath,
          validateIdempotencyKey(key),
          rawBody(event),
        );
        const replay = await attempt.claim(Math.ceil(context.getRemainingTimeInMillis() / 1000) + 5);
        if (replay) return replay;
        // Only a claim this request holds may be released on failure, never another request's.
        claim = attempt;
        req.idempotency = claim;
      }
      const result = await route(req);
      await claim?.complete(result);
      return result;
    } catch (error) {
      await claim?.release();
      return problemResult(error, instance);
    }
  };
  return middy(run).use(injectLambdaContext(logger, { resetKeys: true }));
}

function problemResult(error: unknown, instance: string): ApiResult {
  const problem = error instanceof Problem ? error : internalError();
  if (!(error instanceof Problem)) logger.error('Unhandled fault', error as Error);
  return {
    statusCode: problem.status,
    headers: { 'content-type': 'application/problem+json', ...(problem.status === 409 ? { 'retry-after': '1' } : {}) },
    body: JSON.stringify(problemBody(problem, instance)),
  };
}

function rawBody(event: Event): string | undefined {
  if (event.body === undefined || event.body === null) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

function buildRequest(event: Event, requestId: string): ApiRequest {
  const caller = callerFrom(event);
  // The JWT authorizer guarantees a subject on every non-public route; a missing one is a wiring fault.
  if (!caller) throw new Error('Route reached without verified JWT claims');
  const headers = event.headers ?? {};
  const body = rawBody(event);
  if (body !== undefined && Buffer.byteLength(body) > MAX_BODY_BYTES) throw payloadTooLarge(MAX_BODY_BYTES);
  return {
    caller,
    routeKey: event.routeKey,
    path: event.rawPath,
    requestId,
    params: (event.pathParameters ?? {}) as Record<string, string>,
    query: event.queryStringParameters ?? {},
    header: (name) => headers[name.toLowerCase()],
    body(schema) {
      const type = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json' && type !== 'application/merge-patch+json') {
        throw unsupportedMediaType('application/json');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body ?? '');
      } catch (error) {
        throw malformedJson((error as Error).message);
      }
      return validate(schema, parsed);
    },
    idempotency: undefined,
    alsoCommit(respond) {
      return (view) => (this.idempotency ? [this.idempotency.completion(respond(view))] : []);
    },
  };
}
