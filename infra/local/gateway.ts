/**
 * The local API Gateway HTTP API: routes from the manifest, stage throttling, CORS, the JWT
 * authorizer in front of every non-public route, payload 2.0 events to the handlers, and AWS's own
 * answers where AWS answers without the function (404, 401, 413, 429, 500, 503). It also serves the
 * dev issuer's well-known documents, so the issuer URL in every token is a real, fetchable OIDC issuer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_THROTTLE } from '../api-settings.ts';
import { buildApiEvent, LOCAL_ACCOUNT_ID, newRequestId } from './api-event.ts';
import { gatewayResponse, type HttpResponseData, internalServerError, interpretResult } from './api-result.ts';
import { type CorsOptions, createCors } from './cors.ts';
import { createDevIssuer, DEFAULT_AUDIENCE, type DevIssuer, devIssuerUrl, type SigningKey } from './dev-issuer.ts';
import { createJwtAuthorizer } from './jwt-authorizer.ts';
import { createLambdaRuntime, type FunctionLike, type Invocation, localFunctionName } from './lambda-runtime.ts';
import { readBody } from './request-body.ts';
import { createRouter, type RouteLike } from './router.ts';
import { type Throttle, tokenBucket } from './throttle.ts';
import { continueTrace, traceRoot } from './trace-header.ts';

/** What the gateway needs of a route; the manifest's RouteSpec is one. */
export interface GatewayRoute extends RouteLike {
  function: string;
  /** No authorizer (health, OpenAPI, docs). */
  public?: boolean;
}

export interface GatewayOptions {
  routes: readonly GatewayRoute[];
  functions: readonly FunctionLike[];
  /** Function entries are resolved from here. */
  rootDir: string;
  /** 0: a free port. */
  port: number;
  /** Default 127.0.0.1: a development API with a token minter nearby is not for the network. */
  host?: string;
  /** Signs the dev issuer's tokens; the authorizer trusts its public half. */
  signingKey: SigningKey;
  /** Accepted `aud` values. Default `['slipway']`. */
  audiences?: string[];
  /** API Gateway's integration timeout. Default 30 s, its value on HTTP APIs. */
  integrationTimeoutMs?: number;
  region?: string;
  /** No access log lines (handler errors are still written to stderr). */
  quiet?: boolean;
  /** The stage's throttling; default the CDK stage's (infra/api-settings.ts). */
  throttle?: Throttle;
  /** CORS for browser front-ends; off when absent, as on an HTTP API without a CORS configuration. */
  cors?: CorsOptions;
}

export interface Gateway {
  /** `http://localhost:<port>` */
  url: string;
  port: number;
  issuer: DevIssuer;
  close(): Promise<void>;
}

/** HTTP API's payload limit; larger requests never reach the function. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** Lambda's synchronous invocation limit, which applies to the whole event. */
const MAX_EVENT_BYTES = 6 * 1024 * 1024;

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const functions = new Map(options.functions.map((fn) => [fn.name, fn]));
  const missing = options.routes.filter((route) => !functions.has(route.function));
  if (missing.length > 0) {
    throw new Error(
      `Routes name unknown functions: ${missing.map((r) => `${r.method} ${r.path} → ${r.function}`).join(', ')}`,
    );
  }
  const route = createRouter(options.routes);
  const throttle = tokenBucket(options.throttle ?? DEFAULT_THROTTLE);
  const cors = options.cors ? createCors(options.cors) : undefined;
  const runtime = createLambdaRuntime({
    rootDir: options.rootDir,
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    accountId: LOCAL_ACCOUNT_ID,
    integrationTimeoutMs: options.integrationTimeoutMs ?? 30_000,
  });

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Port ${options.port} is already in use (choose another with --port)`)
          : error,
      ),
    );
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://localhost:${port}`;
  // The issuer URL contains the port, so the issuer and its authorizer exist once we listen.
  const issuer = createDevIssuer(options.signingKey, devIssuerUrl(url));
  const authorize = createJwtAuthorizer({
    issuer: issuer.issuer,
    audiences: options.audiences ?? [DEFAULT_AUDIENCE],
    keys: issuer.jwks,
  });

  const respond = async (
    req: IncomingMessage,
    requestId: string,
    traceHeader: string,
    log: AccessLog,
  ): Promise<HttpResponseData> => {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const path = target.split('?')[0] ?? '/';

    const document = method === 'GET' ? issuer.document(path) : undefined;
    if (document) return json(200, document);

    const match = route(method, path);
    if (match === undefined) return gatewayResponse(404, 'Not Found');
    log.routeKey = match.routeKey;
    if (!throttle.take()) return gatewayResponse(429, 'Too Many Requests');

    const body = await readBody(req, MAX_REQUEST_BYTES);
    // Text, as API Gateway's front door answers it (no JSON, no request id in the body).
    if (body === undefined) return textResponse(413, `HTTP content length exceeded ${MAX_REQUEST_BYTES} bytes.`);

    const jwt = match.route.public ? undefined : await authorize(req.headers.authorization);
    if (jwt && !jwt.authorized) {
      log.authorizerError = jwt.reason;
      return gatewayResponse(401, 'Unauthorized', { 'www-authenticate': jwt.wwwAuthenticate });
    }

    const event = buildApiEvent(
      {
        method,
        target,
        httpVersion: req.httpVersion,
        // As HTTP APIs do, the function sees the request's trace header (the caller's trace, or a new one).
        headers: { ...req.headersDistinct, 'x-amzn-trace-id': [traceHeader] },
        body,
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        port,
      },
      {
        routeKey: match.routeKey,
        pathParameters: match.pathParameters,
        requestId,
        time: new Date(),
        ...(jwt?.authorized ? { jwt: jwt.jwt } : {}),
      },
    );
    if (Buffer.byteLength(JSON.stringify(event)) > MAX_EVENT_BYTES) return gatewayResponse(413, 'Request Too Long');

    const fn = functions.get(match.route.function) as FunctionLike;
    log.function = localFunctionName(fn);
    const invocation = await runtime.invoke(fn, event, { traceHeader });
    return answer(invocation, fn, { requestId, awsRequestId: invocation.awsRequestId });
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const requestId = newRequestId();
    // A caller's X-Amzn-Trace-Id is continued, else a trace starts here: its id goes in the access log line.
    const traceHeader = continueTrace(req.headersDistinct['x-amzn-trace-id']?.[0]);
    const log: AccessLog = {
      requestId,
      traceId: traceRoot(traceHeader) as string,
      method: req.method ?? '',
      path: (req.url ?? '/').split('?')[0] ?? '/',
    };
    // With CORS configured, API Gateway answers preflights itself, before routing and throttling.
    const preflight = cors?.preflight(req.method ?? '', req.headers);
    (preflight ? Promise.resolve(preflight) : respond(req, requestId, traceHeader, log))
      .catch((error: unknown) => {
        logError('Gateway Error', error, { requestId });
        return internalServerError();
      })
      .then((response) => {
        const answer = cors && !preflight ? cors.decorate(req.headers.origin, response) : response;
        log.status = send(res, answer, requestId);
        log.durationMs = Math.round((performance.now() - started) * 10) / 10;
        if (!options.quiet) {
          writeLine(process.stdout, { time: new Date().toISOString(), level: 'INFO', message: 'request', ...log });
        }
      });
  });

  return {
    url,
    port,
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface AccessLog {
  requestId: string;
  /** The X-Ray trace id every function call of this request runs under (`1-<epoch hex>-<random>`). */
  traceId: string;
  method: string;
  path: string;
  routeKey?: string;
  function?: string;
  status?: number;
  durationMs?: number;
  authorizerError?: string;
}

/** What API Gateway makes of each way a Lambda invocation ends (HTTP APIs: 500 for every function failure). */
function answer(
  invocation: Invocation,
  fn: FunctionLike,
  ids: { requestId: string; awsRequestId: string },
): HttpResponseData {
  switch (invocation.outcome) {
    case 'result': {
      const { response, warning } = interpretResult(invocation.result);
      if (warning)
        writeLine(process.stderr, { level: 'WARN', message: warning, function: localFunctionName(fn), ...ids });
      return response;
    }
    case 'error':
      logError('Invoke Error', invocation.error, { function: localFunctionName(fn), ...ids });
      return internalServerError();
    case 'function-timeout':
      writeLine(process.stderr, {
        level: 'ERROR',
        message: `Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
        function: localFunctionName(fn),
        ...ids,
      });
      return internalServerError();
    case 'integration-timeout':
      return gatewayResponse(503, 'Service Unavailable');
  }
}

/** Writes the response; a header Node refuses (a handler's bad value) turns it into a 500, as a malformed response would. */
function send(res: ServerResponse, response: HttpResponseData, requestId: string): number {
  const write = (r: HttpResponseData) => {
    res.statusCode = r.statusCode;
    for (const [name, value] of Object.entries(r.headers)) res.setHeader(name, value);
    res.setHeader('apigw-requestid', requestId);
    res.setHeader('content-length', r.body.length);
    res.end(r.body);
    return r.statusCode;
  };
  try {
    return write(response);
  } catch (error) {
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    writeLine(process.stderr, {
      level: 'WARN',
      message: `Malformed Lambda response: ${(error as Error).message}`,
      requestId,
    });
    return write(internalServerError());
  }
}

function json(statusCode: number, value: object): HttpResponseData {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(value)) };
}

function textResponse(statusCode: number, text: string): HttpResponseData {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: Buffer.from(text) };
}

/** Like the Lambda runtime's `Invoke Error` record: type, message and stack, one JSON line. */
function logError(message: string, error: unknown, fields: Record<string, string>): void {
  const err = error instanceof Error ? error : new Error(String(error));
  writeLine(process.stderr, {
    level: 'ERROR',
    message,
    ...fields,
    errorType: err.name,
    errorMessage: err.message,
    stack: err.stack
      ?.split('\n')
      .slice(1)
      .map((line) => line.trim()),
  });
}

function writeLine(stream: NodeJS.WritableStream, entry: object): void {
  stream.write(`${JSON.stringify(entry)}\n`);
}
