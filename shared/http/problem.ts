import {
  Conflict,
  DomainError,
  Forbidden,
  Invalid,
  NotFound,
  PreconditionRequired,
  RateLimited,
  StaleVersion,
  Transient,
} from '../errors.ts';

/**
 * RFC 9457 problem details. Every error a client can see becomes a `Problem`: the core's domain
 * errors (shared/errors.ts) by `toProblem`, the HTTP edge's own refusals directly; anything else
 * is a fault and becomes a 500 with no internals. This is the one place errors map to statuses.
 */

export const PROBLEM_BASE = 'https://slipway.dev/problems/';

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

/** Status and title of each domain error; the code becomes the problem type. */
function statusOf(error: DomainError): [number, string] {
  if (error instanceof NotFound) return [404, 'Not found'];
  if (error instanceof Conflict) return [409, 'Conflict'];
  if (error instanceof StaleVersion) return [412, 'The resource has changed'];
  if (error instanceof PreconditionRequired) return [428, 'If-Match is required'];
  if (error instanceof Forbidden) return [403, 'You are not allowed to do this'];
  if (error instanceof Transient) return error.cause_ === 'busy' ? [409, 'Conflict'] : [503, 'Temporarily unavailable'];
  if (error instanceof RateLimited) return [429, 'Too many requests'];
  if (error instanceof Invalid) {
    if (!error.malformed) return [422, 'The request cannot be processed'];
    return error.code === 'invalid-cursor'
      ? [400, 'The pagination cursor is not valid']
      : [400, 'The request is not valid'];
  }
  return [500, 'Internal error'];
}

/** A domain error as the problem a client sees; undefined for anything else (a fault). */
export function toProblem(error: unknown): Problem | undefined {
  if (error instanceof Problem) return error;
  if (!(error instanceof DomainError)) return undefined;
  const [status, title] = statusOf(error);
  const problem = new Problem(status, error.code, title, error.message, error.extensions);
  return error instanceof Transient || error instanceof RateLimited
    ? problem.retryAfter(error.retryAfterSeconds)
    : problem;
}

// The HTTP edge's own refusals: about the request as bytes on the wire, never about the domain.

export const malformedJson = (detail: string) =>
  new Problem(400, 'malformed-json', 'The body is not valid JSON', detail);
/** A body nested deeper than `limit` levels (bounds every recursive walk over client JSON). */
export const jsonTooDeep = (limit: number, at: string) =>
  new Problem(400, 'json-too-deep', 'The body nests too deeply', `JSON bodies may nest at most ${limit} levels.`, {
    invalid_params: [{ name: at || '(root)', reason: `nested deeper than ${limit} levels` }],
  });
/** A key that reaches an object's prototype when merged (`__proto__`, `constructor`, `prototype`). */
export const reservedJsonKey = (keys: readonly string[], at: string) =>
  new Problem(
    400,
    'reserved-json-key',
    'The body uses a reserved key',
    `${keys.join(', ')} are not accepted as keys, at any depth.`,
    { invalid_params: [{ name: at, reason: 'reserved key' }] },
  );
export const unauthorized = (detail: string) => new Problem(401, 'unauthorized', 'Not authenticated', detail);
export const payloadTooLarge = (limit: number) =>
  new Problem(413, 'payload-too-large', 'The body is too large', `Bodies are limited to ${limit} bytes.`);
export const unsupportedMediaType = (expected: string) =>
  new Problem(415, 'unsupported-media-type', 'Unsupported media type', `Send the body as ${expected}.`);
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
