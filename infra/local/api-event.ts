/**
 * An HTTP request as API Gateway HTTP API hands it to Lambda: payload format 2.0.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 * Where the documentation is silent, behaviour observed on AWS by others is noted inline.
 */
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type { JwtContext } from './jwt-authorizer.ts';
import { decodeLenient } from './router.ts';
import { continueTrace } from './trace-header.ts';

export type ApiEventV2 = APIGatewayProxyEventV2 | APIGatewayProxyEventV2WithJWTAuthorizer;

export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_API_ID = 'local';

export interface HttpRequestData {
  method: string;
  /** The request target as sent: path and optional `?query`. */
  target: string;
  /** `1.1` */
  httpVersion: string;
  /** Lower-case names with every value of a repeated header (Node's `headersDistinct`). */
  headers: Record<string, string[] | undefined>;
  body: Buffer;
  sourceIp: string;
  /** Port the gateway listens on (`x-forwarded-port`). */
  port: number;
}

export interface EventRouting {
  routeKey: string;
  pathParameters: Record<string, string> | undefined;
  requestId: string;
  time: Date;
  /** The authorizer's result; absent on public routes, whose events carry no `authorizer`. */
  jwt?: JwtContext;
}

/** Measured on AWS: only these reach the function as text; everything else (even form posts or no content type) as base64. */
const TEXT_TYPES = new Set(['application/json', 'application/xml', 'application/javascript']);

export function isTextual(contentType: string | undefined): boolean {
  const mime = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return mime.startsWith('text/') || TEXT_TYPES.has(mime);
}

export function buildApiEvent(request: HttpRequestData, routing: EventRouting): ApiEventV2 {
  const queryIndex = request.target.indexOf('?');
  const path = queryIndex === -1 ? request.target : request.target.slice(0, queryIndex);
  const rawQueryString = queryIndex === -1 ? '' : request.target.slice(queryIndex + 1);
  // Seen in events from AWS: rawPath and http.path arrive percent-decoded.
  const decodedPath = decodeLenient(path);
  const headers = eventHeaders(request);
  const cookies = cookiesOf(request.headers.cookie);
  const query = queryParameters(rawQueryString);
  const hasBody = request.body.length > 0;
  const base64 = hasBody && !isTextual(headers['content-type']);
  const domainName = (headers.host ?? 'localhost').replace(/:\d+$/, '');

  return {
    version: '2.0',
    routeKey: routing.routeKey,
    rawPath: decodedPath,
    rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: LOCAL_API_ID,
      ...(routing.jwt ? { authorizer: { jwt: routing.jwt } } : {}),
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method: request.method,
        path: decodedPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: routing.requestId,
      routeKey: routing.routeKey,
      stage: '$default',
      time: clfTime(routing.time),
      timeEpoch: routing.time.getTime(),
    },
    ...(hasBody ? { body: request.body.toString(base64 ? 'base64' : 'utf8') } : {}),
    ...(routing.pathParameters ? { pathParameters: routing.pathParameters } : {}),
    isBase64Encoded: base64,
  } as ApiEventV2;
}

/** API Gateway's request id format (as in the `apigw-requestid` header): 16 base64 characters. */
export const newRequestId = (): string => randomBytes(11).toString('base64');

/** Not forwarded: `cookie` moves to `cookies`; connection management ends at the gateway. */
const NOT_FORWARDED = new Set(['cookie', 'connection', 'keep-alive']);

/** Repeated headers joined by commas, plus the forwarding headers and trace id API Gateway adds. */
function eventHeaders(request: HttpRequestData): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(request.headers)) {
    if (!NOT_FORWARDED.has(name) && values !== undefined) headers[name] = values.join(',');
  }
  const forwardedFor = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${request.sourceIp}` : request.sourceIp;
  headers['x-forwarded-port'] = String(request.port);
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] ??= continueTrace(undefined);
  return headers;
}

function cookiesOf(values: string[] | undefined): string[] | undefined {
  const cookies = (values ?? [])
    .join(';')
    .split(';')
    .map((cookie) => cookie.trim())
    .filter(Boolean);
  return cookies.length > 0 ? cookies : undefined;
}

/** Decoded values; a repeated key's values joined by commas (`a=1&a=2` → `{ a: '1,2' }`). */
function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  const grouped = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    grouped.set(key, [...(grouped.get(key) ?? []), value]);
  }
  if (grouped.size === 0) return undefined;
  return Object.fromEntries([...grouped].map(([key, values]) => [key, values.join(',')]));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000` (UTC). */
function clfTime(time: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${two(time.getUTCDate())}/${MONTHS[time.getUTCMonth()]}/${time.getUTCFullYear()}:` +
    `${two(time.getUTCHours())}:${two(time.getUTCMinutes())}:${two(time.getUTCSeconds())} +0000`
  );
}
