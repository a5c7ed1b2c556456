/**
 * What API Gateway HTTP API makes of a Lambda result under payload format 2.0. Besides the
 * documentation, this follows the behaviour AWS's own Lambda test tool reproduces from real API
 * Gateway (aws-lambda-dotnet, LambdaTestTool-v2):
 * - the result travels as JSON (Lambda serializes it), so it is judged after a JSON round trip;
 * - an object with a `statusCode` is a response: headers, cookies (one set-cookie each), body,
 *   isBase64Encoded; without a content-type header the client gets `text/plain; charset=utf-8`;
 *   a malformed one (status not a number, body not a string, ...) is a 500;
 * - anything else (a string, an object without statusCode) is the body of a 200
 *   `application/json` response, verbatim as serialized: `"hello"` keeps its quotes;
 * - `multiValueHeaders` belongs to format 1.0 and is ignored.
 */

export interface HttpResponseData {
  statusCode: number;
  /** `set-cookie` is a list; every other header a single value. */
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export interface InterpretedResult {
  response: HttpResponseData;
  /** Why the result was refused or partly ignored, for the gateway's log. */
  warning?: string;
}

/** Lambda refuses synchronous responses above 6 MB (the client then sees a 500). */
export const LAMBDA_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024;

/** A response API Gateway produces itself: `{"message": "..."}`. */
export function gatewayResponse(
  statusCode: number,
  message: string,
  headers: Record<string, string> = {},
): HttpResponseData {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(JSON.stringify({ message })),
  };
}

export const internalServerError = (): HttpResponseData => gatewayResponse(500, 'Internal Server Error');

export function interpretResult(result: unknown): InterpretedResult {
  let payload: string;
  try {
    payload = JSON.stringify(result) ?? 'null'; // the Node.js runtime sends `undefined` as null
  } catch (error) {
    return refuse(`the result cannot be serialized to JSON: ${(error as Error).message}`);
  }
  if (Buffer.byteLength(payload) > LAMBDA_RESPONSE_LIMIT_BYTES)
    return refuse('the response exceeds the 6 MB Lambda limit');

  const value: unknown = JSON.parse(payload);
  if (!isRecord(value) || !('statusCode' in value)) {
    return {
      response: { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(payload) },
    };
  }

  const { statusCode, headers = {}, cookies = [], body, isBase64Encoded = false, multiValueHeaders } = value;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    return refuse(`statusCode ${JSON.stringify(statusCode)} is not an HTTP status`);
  }
  if (!isRecord(headers) || Object.values(headers).some((v) => !['string', 'number', 'boolean'].includes(typeof v))) {
    return refuse('headers must map names to strings, numbers or booleans');
  }
  if (!Array.isArray(cookies) || cookies.some((c) => typeof c !== 'string')) return refuse('cookies must be strings');
  if (body !== undefined && body !== null && typeof body !== 'string') return refuse('body must be a string');
  if (typeof isBase64Encoded !== 'boolean') return refuse('isBase64Encoded must be a boolean');

  const responseHeaders: Record<string, string | string[]> = {};
  for (const [name, headerValue] of Object.entries(headers)) responseHeaders[name] = String(headerValue);
  if (!Object.keys(responseHeaders).some((name) => name.toLowerCase() === 'content-type')) {
    responseHeaders['content-type'] = 'text/plain; charset=utf-8';
  }
  if (cookies.length > 0) responseHeaders['set-cookie'] = cookies as string[];

  return {
    response: {
      statusCode,
      headers: responseHeaders,
      body: Buffer.from(body ?? '', isBase64Encoded ? 'base64' : 'utf8'),
    },
    ...(multiValueHeaders !== undefined ? { warning: 'multiValueHeaders is ignored by payload format 2.0' } : {}),
  };
}

function refuse(warning: string): InterpretedResult {
  return { response: internalServerError(), warning: `Malformed Lambda response: ${warning}` };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
