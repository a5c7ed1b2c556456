import { config } from '../config.ts';

/**
 * The caller's IdP groups, each one a whole name (ADR 17): a group is never cut out of another
 * group's name, so "ops platform-admins" or "former,platform-admins" is not "platform-admins".
 *
 * - `SLIPWAY_GROUPS_CLAIM` names the claim (default `groups`; e.g. `cognito:groups`, `roles`).
 * - An array claim is a list of groups. A string claim is one group, unless
 *   `SLIPWAY_GROUPS_DELIMITER` says the IdP joins several with that delimiter.
 * - API Gateway hands an array claim over as `[a b]`, which cannot tell `["a b"]` from `["a", "b"]`.
 *   The token itself can: it is in the Authorization header (the authorizer's identity source),
 *   already verified, so its payload is read for the claim, and used only when it is the token the
 *   authorizer handed over (same `sub`, same claim once stringified). Otherwise: no groups.
 */

export const groupsClaim = (): string => config.groupsClaim;

/** Platform admin: one of the caller's groups is, exactly, a configured admin group. */
export function isPlatformAdmin(groups: readonly string[]): boolean {
  const admins = config.adminGroups;
  return groups.some((g) => admins.has(g));
}

/**
 * The groups in `claims` (as the JWT authorizer handed them over, or real JSON values from another
 * authorizer); `authorization` is the request's Authorization header, for the stringified form.
 */
export function readGroups(claims: Record<string, unknown> | undefined, authorization: string | undefined): string[] {
  const name = groupsClaim();
  const value = claims?.[name];
  if (typeof value === 'string' && value.startsWith('[') && value.endsWith(']')) {
    const payload = tokenPayload(authorization);
    const same = payload?.sub === claims?.sub && stringifyClaim(payload?.[name]) === value;
    return same ? groupList(payload?.[name]) : [];
  }
  return groupList(value);
}

function groupList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string' && g.length > 0);
  if (typeof value !== 'string' || value.length === 0) return [];
  const delimiter = config.groupsDelimiter;
  return delimiter ? value.split(delimiter).filter(Boolean) : [value];
}

/** API Gateway's rendering of a claim: strings as they are, arrays as `[a b]`, numbers and booleans as text. */
export function stringifyClaim(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(stringifyClaim).join(' ')}]`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // Objects and null: AWS's rendering is not documented; JSON keeps them parseable.
  return JSON.stringify(value);
}

/** The payload of the bearer token, decoded and not verified (the authorizer did that); undefined if it is not a JWT. */
function tokenPayload(authorization: string | undefined): Record<string, unknown> | undefined {
  const payload = /^\s*(?:bearer\s+)?[\w-]+\.([\w-]+)\.[\w-]*\s*$/i.exec(authorization ?? '')?.[1];
  if (payload === undefined) return undefined;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof decoded === 'object' && decoded !== null && !Array.isArray(decoded)
      ? (decoded as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
