import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { logger } from '../logger.ts';
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

/** What every route reads of its request, signed in or not. */
export interface HttpRequest {
  routeKey: string;
  path: string;
  requestId: string;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  header(name: string): string | undefined;
  /** The body as text (decoded once if API Gateway sent it base64), or undefined. */
  text: string | undefined;
  /** The JSON body, parsed and validated against a strict schema (400 otherwise). */
  body<S extends z.ZodMiniType>(schema: S): z.infer<S>;
}

export type PublicRoute = (req: HttpRequest) => Promise<ApiResult>;

/**
 * The shell of every function: routes by API Gateway's routeKey, bounds the body, and maps every
 * error to problem+json in one place. It imports no store: `api()` adds the caller and idempotency.
 */
export function kernel<E extends APIGatewayProxyEventV2, R>(
  routes: Record<string, R>,
  serve: (route: R, req: HttpRequest, event: E, context: Context) => Promise<ApiResult>,
) {
  const run = async (event: E, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    try {
      const route = routes[event.routeKey];
      if (!route) throw notFound(`Route ${event.routeKey}`);
      return await serve(route, httpRequest(event, requestId), event, context);
    } catch (error) {
      return problemResult(error, requestId);
    }
  };
  return middy(run).use(injectLambdaContext(logger, { resetKeys: true }));
}

/** Routes that skip the JWT authorizer (manifest `public`): they have no caller. */
export const publicApi = (routes: Record<string, PublicRoute>) => kernel(routes, (route, req) => route(req));

function rawBody(event: APIGatewayProxyEventV2): string | undefined {
  if (event.body === undefined || event.body === null) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

function problemResult(error: unknown, instance: string): ApiResult {
  const problem = error instanceof Problem ? error : internalError();
  if (!(error instanceof Problem)) logger.error('Unhandled fault', error as Error);
  return {
    statusCode: problem.status,
    headers: {
      'content-type': 'application/problem+json',
      ...(problem.retryAfterSeconds ? { 'retry-after': String(problem.retryAfterSeconds) } : {}),
      ...problem.headers,
    },
    body: JSON.stringify(problemBody(problem, instance)),
  };
}

function httpRequest(event: APIGatewayProxyEventV2, requestId: string): HttpRequest {
  const headers = event.headers ?? {};
  const body = rawBody(event);
  if (body !== undefined && Buffer.byteLength(body) > MAX_BODY_BYTES) throw payloadTooLarge(MAX_BODY_BYTES);
  return {
    routeKey: event.routeKey,
    path: event.rawPath,
    requestId,
    params: (event.pathParameters ?? {}) as Record<string, string>,
    query: event.queryStringParameters ?? {},
    header: (name) => headers[name.toLowerCase()],
    text: body,
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
  };
}
