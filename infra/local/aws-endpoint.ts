/**
 * One local endpoint for the AWS services that speak the JSON protocol (Step Functions,
 * EventBridge, Secrets Manager, KMS): the real SDK clients post `X-Amz-Target: <Prefix>.<Operation>`
 * with a JSON body, so pointing AWS_ENDPOINT_URL_SFN, _EVENTBRIDGE, _SECRETS_MANAGER and _KMS here
 * is all the function code needs. Errors go back the way AWS sends them: 400 with `__type`.
 * Requests without X-Amz-Target go to a REST service: the one their SigV4 signature names
 * (`Credential=…/<region>/scheduler/aws4_request`: the local Scheduler), else the default one (S3,
 * as on LocalStack's port).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './request-body.ts';

/** One service: an operation name (`StartExecution`) and its parsed JSON input. */
export type AwsService = (operation: string, input: Record<string, unknown>) => Promise<unknown>;

/** An error the way AWS names it (`TaskTimedOut`, `ResourceNotFoundException`). */
export class AwsServiceError extends Error {
  readonly status: number;

  constructor(name: string, message: string, status = 400) {
    super(message);
    this.name = name;
    this.status = status;
  }
}

/** A service speaking a REST protocol (S3's REST-XML, Scheduler's REST-JSON): it answers the request itself. */
export type RestService = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Local-only JSON views (e.g. dead letters), served on GET `/_local/...`. */
export type LocalView = () => Promise<unknown> | unknown;

export interface AwsEndpointOptions {
  port?: number;
  /** By X-Amz-Target prefix: `AWSStepFunctions`, `AWSEvents`, `secretsmanager`, `TrentService`. */
  services: Record<string, AwsService>;
  /** Every request without X-Amz-Target that no `restBySigningName` service takes (the local S3). */
  rest?: RestService;
  /** REST services by the signing name of the request's SigV4 credential scope, e.g. `scheduler`. */
  restBySigningName?: Record<string, RestService>;
  /** By path, e.g. `/_local/eventbridge/dead-letters`. */
  views?: Record<string, LocalView>;
}

export interface AwsEndpoint {
  url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startAwsEndpoint(options: AwsEndpointOptions): Promise<AwsEndpoint> {
  const server = createServer((req, res) => {
    serve(options, req, res).catch((error: unknown) => {
      send(res, 500, { __type: 'InternalFailure', message: String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(options: AwsEndpointOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] as string;
  const view = options.views?.[path];
  if (req.method === 'GET' && view) return send(res, 200, await view());

  if (req.headers['x-amz-target'] === undefined) {
    const rest = options.restBySigningName?.[signingName(req) ?? ''] ?? options.rest;
    if (rest) return rest(req, res);
  }
  const target = String(req.headers['x-amz-target'] ?? '');
  const dot = target.indexOf('.');
  const service = dot > 0 ? options.services[target.slice(0, dot)] : undefined;
  if (req.method !== 'POST' || service === undefined) {
    return send(res, 400, { __type: 'UnknownOperationException', message: `No local service for '${target}'` });
  }
  const text = (await readBody(req, MAX_BODY_BYTES))?.toString('utf8');
  if (text === undefined) return send(res, 413, { __type: 'RequestEntityTooLarge', message: 'Request too large' });
  let input: Record<string, unknown>;
  try {
    input = text.length === 0 ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    return send(res, 400, { __type: 'SerializationException', message: 'Request body is not JSON' });
  }
  try {
    send(res, 200, (await service(target.slice(dot + 1), input)) ?? {});
  } catch (error) {
    if (error instanceof AwsServiceError) {
      return send(res, error.status, { __type: error.name, message: error.message }, error.name);
    }
    throw error;
  }
}

/** The service a SigV4 request was signed for: `Credential=AKID/20261204/us-east-1/<service>/aws4_request`. */
function signingName(req: IncomingMessage): string | undefined {
  return /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(String(req.headers.authorization ?? ''))?.[1];
}

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  if (res.headersSent) return;
  // Dates go out as epoch seconds, as AWS's JSON protocol sends timestamps. The replacer sees
  // the raw value on `this`: by the time `value` arrives, Date.toJSON has made it a string.
  const json = JSON.stringify(body, function (this: Record<string, unknown>, key, value) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : value;
  });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(json),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(json);
}
