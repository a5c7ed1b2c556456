/**
 * RFC 9457 problem details. Every error a client can see is a `Problem`; anything else is a
 * fault and becomes a 500 with no internals. This is the one place errors map to statuses.
 */

export const PROBLEM_BASE = 'https://slipway.dev/problems/';

export interface InvalidParam {
  /** JSON pointer-ish path of the offending field, e.g. `repository.url`. */
  name: string;
  reason: string;
}

export class Problem extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly extensions: Record<string, unknown>;
  /** Set when the same request may succeed shortly (sent as Retry-After). */
  retryAfterSeconds: number | undefined = undefined;
  /** More response headers (the RateLimit fields of a refused request). */
  headers: Record<string, string> = {};

  constructor(status: number, slug: string, title: string, detail?: string, extensions: Record<string, unknown> = {}) {
    super(detail ?? title);
    this.name = 'Problem';
    this.status = status;
    this.type = PROBLEM_BASE + slug;
    this.title = title;
    this.detail = detail;
    this.extensions = extensions;
  }

  /** Marks the same request as worth repeating after `seconds`. */
  retryAfter(seconds: number): this {
    this.retryAfterSeconds = seconds;
    return this;
  }

  withHeaders(headers: Record<string, string>): this {
    Object.assign(this.headers, headers);
    return this;
  }
}

export const badRequest = (detail: string, invalidParams?: InvalidParam[]) =>
  new Problem(
    400,
    'invalid-request',
    'The request is not valid',
    detail,
    invalidParams ? { invalid_params: invalidParams } : {},
  );
export const malformedJson = (detail: string) =>
  new Problem(400, 'malformed-json', 'The body is not valid JSON', detail);
export const badCursor = () =>
  new Problem(400, 'invalid-cursor', 'The pagination cursor is not valid', 'Start again without a cursor.');
export const unauthorized = (detail: string) => new Problem(401, 'unauthorized', 'Not authenticated', detail);
export const forbidden = (detail: string) => new Problem(403, 'forbidden', 'You are not allowed to do this', detail);
export const notFound = (what: string) =>
  new Problem(404, 'not-found', 'Not found', `${what} does not exist or you cannot see it.`);
export const conflict = (slug: string, detail: string) => new Problem(409, slug, 'Conflict', detail);
/** A conflict with another request still in flight: the same request may succeed on retry. */
export const busy = (slug: 'concurrent-modification' | 'idempotency-in-progress', detail: string) =>
  conflict(slug, detail).retryAfter(1);
export const preconditionFailed = () =>
  new Problem(
    412,
    'stale-etag',
    'The resource has changed',
    'If-Match does not match the current ETag: read it again and retry.',
  );
export const payloadTooLarge = (limit: number) =>
  new Problem(413, 'payload-too-large', 'The body is too large', `Bodies are limited to ${limit} bytes.`);
export const unsupportedMediaType = (expected: string) =>
  new Problem(415, 'unsupported-media-type', 'Unsupported media type', `Send the body as ${expected}.`);
export const unprocessable = (slug: string, detail: string) =>
  new Problem(422, slug, 'The request cannot be processed', detail);
export const preconditionRequired = () =>
  new Problem(
    428,
    'if-match-required',
    'If-Match is required',
    'Send the ETag you read in If-Match to change this resource.',
  );

/** The store did not answer or refused for load: nothing was written; try again shortly. */
export const storeUnavailable = () =>
  new Problem(
    503,
    'store-unavailable',
    'Temporarily unavailable',
    'The data store did not answer; nothing was changed. Retry shortly.',
  ).retryAfter(2);

export const internalError = () =>
  new Problem(500, 'internal', 'Internal error', 'Something went wrong on our side; it has been logged.');

export const problemBody = (problem: Problem, instance: string) => ({
  type: problem.type,
  title: problem.title,
  status: problem.status,
  ...(problem.detail ? { detail: problem.detail } : {}),
  instance,
  ...problem.extensions,
});
