import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { readGroups } from './groups.ts';

/** Who is calling, from the claims the JWT authorizer verified. */
export interface Caller {
  sub: string;
  name: string | undefined;
  email: string | undefined;
  groups: string[];
  /** The API request this call is (API Gateway's request id): change events and audit entries name it. */
  requestId?: string | undefined;
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
    groups: readGroups(claims, event.headers?.authorization),
    requestId: event.requestContext?.requestId,
  };
}
