import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';

/** Who is calling, from the claims the JWT authorizer verified. */
export interface Caller {
  sub: string;
  name: string | undefined;
  email: string | undefined;
  groups: string[];
  /** The API request this call is (API Gateway's request id): change events and audit entries name it. */
  requestId?: string | undefined;
}

/**
 * API Gateway hands claims over as strings and writes an array claim as `[a b c]`; a local run
 * or a future authorizer may pass a real array. Accept both, so handlers never care.
 */
export function parseGroups(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string' || value.length === 0) return [];
  const inner = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  return inner.split(/[\s,]+/).filter(Boolean);
}

export function callerFrom(event: APIGatewayProxyEventV2WithJWTAuthorizer): Caller | undefined {
  const claims = event.requestContext?.authorizer?.jwt?.claims;
  const sub = claims?.sub;
  // A subject is an identity: never truncate it (two long subjects would become one user).
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) return undefined;
  const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v.slice(0, 256) : undefined);
  return {
    sub,
    name: text(claims?.name),
    email: text(claims?.email),
    groups: parseGroups(claims?.groups),
    requestId: event.requestContext?.requestId,
  };
}
