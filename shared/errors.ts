/**
 * The errors the core raises. They say what went wrong in the domain's words and carry a stable
 * `code` (the problem type's last segment); they know nothing of HTTP. The HTTP kernel maps them
 * to problem+json (shared/http/problem.ts), and a workflow step's Retry/Catch matches their `name`.
 */

export interface InvalidParam {
  /** Dotted path of the offending field, e.g. `repository.url`. */
  name: string;
  reason: string;
}

export abstract class DomainError extends Error {
  /** Stable, machine-readable: the last segment of the problem type. */
  readonly code: string;
  /** More members for the problem body (e.g. `invalid_params`). */
  readonly extensions: Record<string, unknown>;

  constructor(code: string, message: string, extensions: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.extensions = extensions;
  }
}

/** The object does not exist, or the caller may not know that it does. */
export class NotFound extends DomainError {
  override name = 'NotFound';
}

/** The request is at odds with the current state (a taken name, a parent with children). */
export class Conflict extends DomainError {
  override name = 'Conflict';
}

/** The caller's copy is older than the stored one (a stale If-Match, a lost race on a version). */
export class StaleVersion extends DomainError {
  override name = 'StaleVersion';
}

/** A change that must name the version it is based on did not. */
export class PreconditionRequired extends DomainError {
  override name = 'PreconditionRequired';
}

/** The caller may see the object but not do this to it. */
export class Forbidden extends DomainError {
  override name = 'Forbidden';
}

/**
 * The same request may succeed shortly: a concurrent change (`busy`), or a dependency that did
 * not answer (`unavailable`). Nothing was changed. Workflows retry on this name.
 */
export class Transient extends DomainError {
  override name = 'Transient';
  readonly retryAfterSeconds: number;
  readonly cause_: 'busy' | 'unavailable';

  constructor(code: string, message: string, retryAfterSeconds: number, cause: 'busy' | 'unavailable') {
    super(code, message);
    this.retryAfterSeconds = retryAfterSeconds;
    this.cause_ = cause;
  }
}

/** Over a quota (shared/quotas/meter.ts): nothing was written; the same request may pass after `retryAfterSeconds`. */
export class RateLimited extends DomainError {
  override name = 'RateLimited';
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number, violatedPolicies: string[]) {
    super('rate-limited', message, { violated_policies: violatedPolicies });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The input is wrong. `malformed`: it does not match the schema (fields named in
 * `invalid_params`); otherwise it is well-formed but names something unusable (an unknown team).
 */
export class Invalid extends DomainError {
  override name = 'Invalid';
  readonly malformed: boolean;

  constructor(code: string, message: string, malformed: boolean, extensions: Record<string, unknown> = {}) {
    super(code, message, extensions);
    this.malformed = malformed;
  }
}

// The words the core uses to raise them; one factory per common case keeps messages consistent.

export const notFound = (what: string) => new NotFound('not-found', `${what} does not exist or you cannot see it.`);
export const conflict = (code: string, detail: string) => new Conflict(code, detail);
export const forbidden = (detail: string) => new Forbidden('forbidden', detail);
export const staleVersion = () =>
  new StaleVersion('stale-etag', 'If-Match does not match the current ETag: read it again and retry.');
export const preconditionRequired = () =>
  new PreconditionRequired('if-match-required', 'Send the ETag you read in If-Match to change this resource.');
/** A conflict with another request still in flight: the same request may succeed on retry. */
export const busy = (code: string, detail: string) => new Transient(code, detail, 1, 'busy');
/** The store did not answer or refused for load: nothing was written; try again shortly. */
export const storeUnavailable = () =>
  new Transient(
    'store-unavailable',
    'The data store did not answer; nothing was changed. Retry shortly.',
    2,
    'unavailable',
  );
export const invalid = (detail: string, invalidParams?: InvalidParam[]) =>
  new Invalid('invalid-request', detail, true, invalidParams ? { invalid_params: invalidParams } : {});
export const invalidCursor = () =>
  new Invalid(
    'invalid-cursor',
    'Pass next_cursor unchanged to the list that gave it, or start again without a cursor.',
    true,
  );
export const unprocessable = (code: string, detail: string) => new Invalid(code, detail, false);

/** True for a domain error of this code: the one way the core branches on a specific failure. */
export const isError = (error: unknown, code: string): error is DomainError =>
  error instanceof DomainError && error.code === code;
