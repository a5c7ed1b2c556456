import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { validate } from '../domain/validate.ts';
import { notFound } from '../errors.ts';
import { lambda } from '../lambda.ts';
import { logger } from '../logger.ts';
import { checkJsonValue, parseJsonBody } from './json.ts';
import { internalError, payloadTooLarge, problemBody, toProblem, unsupportedMediaType } from './problem.ts';
import type { ApiResult } from './response.ts';
import { YAML_TYPES } from './yaml-types.ts';

/** Documented request body limit (API Gateway allows 10 MB; nothing we accept comes close). */
export const MAX_BODY_BYTES = 64 * 1024;
/** The Git hook route's limit: a push names every file its commits touched (ADR 22). */
export const MAX_HOOK_BODY_BYTES = 1024 * 1024;

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
  /**
   * The JSON body, parsed (depth and keys bounded, see json.ts) and validated against a strict schema
   * (400 otherwise). A route that also
   * takes YAML passes its parser (shared/http/yaml-body.ts), so only that function bundles one.
   */
  body<S extends z.ZodMiniType>(schema: S, options?: { yaml?: (text: string) => unknown }): z.infer<S>;
}

export type PublicRoute = (req: HttpRequest) => Promise<ApiResult>;

/**
 * The shell of every API function, inside the one Lambda wrapper (shared/lambda.ts): routes by
 * API Gateway's routeKey, bounds the body, and maps every error to problem+json in one place. It imports no store: `api()` adds the caller and idempotency.
 * `vary` names the request headers every answer depends on, so no cache hands one caller's answer
 * to another (RFC 9110 §12.5.5); it is set here, on errors too, and nowhere else.
 */
export function kernel<E extends APIGatewayProxyEventV2, R>(
  routes: Record<string, R>,
  { vary = [], maxBodyBytes = MAX_BODY_BYTES }: { vary?: readonly string[]; maxBodyBytes?: number },
  serve: (route: R, req: HttpRequest, event: E, context: Context) => Promise<ApiResult>,
) {
  return lambda(async (event: E, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    let result: ApiResult;
    try {
      const route = routes[event.routeKey];
      if (!route) throw notFound(`Route ${event.routeKey}`);
      result = await serve(route, httpRequest(event, requestId, maxBodyBytes), event, context);
    } catch (error) {
      result = problemResult(error, requestId);
    }
    if (vary.length === 0) return result;
    const varies = [result.headers.vary, ...vary].filter(Boolean).join(', ');
    return { ...result, headers: { ...result.headers, vary: varies } };
  });
}

/** Routes that skip the JWT authorizer (manifest `public`): they have no caller. */
export const publicApi = (routes: Record<string, PublicRoute>, options: { maxBodyBytes?: number } = {}) =>
  kernel(routes, options, (route, req) => route(req));

function rawBody(event: APIGatewayProxyEventV2): string | undefined {
  if (event.body === undefined || event.body === null) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

function problemResult(error: unknown, instance: string): ApiResult {
  const known = toProblem(error);
  if (!known) logger.error('Unhandled fault', error as Error);
  const problem = known ?? internalError();
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

function httpRequest(event: APIGatewayProxyEventV2, requestId: string, maxBodyBytes: number): HttpRequest {
  const headers = event.headers ?? {};
  const body = rawBody(event);
  if (body !== undefined && Buffer.byteLength(body) > maxBodyBytes) throw payloadTooLarge(maxBodyBytes);
  return {
    routeKey: event.routeKey,
    path: event.rawPath,
    requestId,
    params: (event.pathParameters ?? {}) as Record<string, string>,
    query: event.queryStringParameters ?? {},
    header: (name) => headers[name.toLowerCase()],
    text: body,
    body(schema, options) {
      const type = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (options?.yaml && YAML_TYPES.has(type)) {
        // The same bounds as JSON: depth and reserved keys, on what the YAML became.
        const value = options.yaml(body ?? '');
        checkJsonValue(value);
        return validate(schema, value);
      }
      if (type !== 'application/json' && type !== 'application/merge-patch+json') {
        throw unsupportedMediaType(options?.yaml ? 'application/json or application/yaml' : 'application/json');
      }
      return validate(schema, parseJsonBody(body ?? ''));
    },
  };
}
