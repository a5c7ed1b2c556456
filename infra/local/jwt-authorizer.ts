/**
 * The rules of API Gateway HTTP API's JWT authorizer (HttpJwtAuthorizer with an issuer and an
 * audience list, identity source `$request.header.Authorization`), so that a request the local
 * cloud lets through is one AWS would let through, and the claims reach the handler in the
 * same shape:
 * - the identity source holds the token, optionally prefixed with `Bearer `;
 * - RSA signatures only, checked against the issuer's JWKS, and the header must carry a `kid`;
 * - `iss` equals the issuer; `aud` contains one of the audiences, and only when there is no `aud`,
 *   `client_id` does; `exp` is in the future and `nbf` in the past;
 * - any failure is 401 `{"message":"Unauthorized"}` with a `www-authenticate` header naming the
 *   reason (documented: `Bearer scope="" error="invalid_token" error_description="..."`);
 * - the claims are handed over as strings: numbers and booleans as text, arrays as `[a b]`.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
 */
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
// The functions read this rendering back, so it is defined once, beside them.
import { stringifyClaim } from '../../shared/auth/groups.ts';

/** HS* would let anyone holding the public key sign; `none` signs nothing. */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512'];

export interface JwtAuthorizerConfig {
  issuer: string;
  audiences: readonly string[];
  /** The issuer's keys: its JWKS, or a resolver such as jose's createRemoteJWKSet(jwks_uri) for a real IdP. */
  keys: JSONWebKeySet | JWTVerifyGetKey;
  /** Allowed clock difference for exp/nbf. Default 5 s. */
  clockToleranceSeconds?: number;
  /** The clock (tests). */
  now?: () => Date;
}

/** `requestContext.authorizer.jwt` of a payload 2.0 event. */
export interface JwtContext {
  claims: Record<string, string>;
  scopes: string[] | null;
}

export type AuthorizerDecision =
  | { authorized: true; jwt: JwtContext }
  | { authorized: false; reason: string; wwwAuthenticate: string };

export type JwtAuthorizer = (authorizationHeader: string | undefined) => Promise<AuthorizerDecision>;

export function createJwtAuthorizer(config: JwtAuthorizerConfig): JwtAuthorizer {
  const getKey = typeof config.keys === 'function' ? config.keys : createLocalJWKSet(config.keys);
  const audiences = new Set(config.audiences);
  const now = config.now ?? (() => new Date());

  return async (authorizationHeader) => {
    const token = bearerToken(authorizationHeader);
    if (token === undefined) return { authorized: false, reason: 'no token', wwwAuthenticate: 'Bearer' };

    let alg: string | undefined;
    let kid: string | undefined;
    try {
      ({ alg, kid } = decodeProtectedHeader(token));
    } catch {
      return deny('the token is malformed');
    }
    if (alg === undefined || !ALLOWED_ALGORITHMS.includes(alg)) return deny(`signing method ${alg} is invalid`);
    if (kid === undefined) return deny('the token has no kid header');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: config.issuer,
        algorithms: ALLOWED_ALGORITHMS,
        requiredClaims: ['exp'],
        clockTolerance: config.clockToleranceSeconds ?? 5,
        currentDate: now(),
      }));
    } catch (error) {
      return deny(describe(error));
    }
    if (!hasAudience(payload, audiences)) return deny('the token does not have a valid audience');
    return { authorized: true, jwt: { claims: stringifyClaims(payload), scopes: scopesOf(payload) } };
  };
}

/** The way API Gateway hands claims to the integration: every value a string. */
export function stringifyClaims(payload: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(payload).map(([name, value]) => [name, stringifyClaim(value)]));
}

/** `scope` (space separated, OAuth) or `scp` (string or array, Okta/Azure style); null when absent. */
export function scopesOf(payload: Record<string, unknown>): string[] | null {
  const raw = payload.scope ?? payload.scp;
  const list = typeof raw === 'string' ? raw.split(/\s+/) : Array.isArray(raw) ? raw.map(String) : [];
  const scopes = list.filter(Boolean);
  return scopes.length > 0 ? scopes : null;
}

function bearerToken(header: string | undefined): string | undefined {
  const token = header
    ?.trim()
    .replace(/^bearer(\s+|$)/i, '')
    .trim();
  return token ? token : undefined;
}

function hasAudience(payload: JWTPayload, audiences: Set<string>): boolean {
  // API Gateway reads client_id only when aud is absent (Cognito access tokens carry no aud).
  const claimed = payload.aud ?? payload.client_id;
  const list = Array.isArray(claimed) ? claimed : [claimed];
  return list.some((value) => typeof value === 'string' && audiences.has(value));
}

function deny(reason: string): AuthorizerDecision {
  return {
    authorized: false,
    reason,
    wwwAuthenticate: `Bearer scope="" error="invalid_token" error_description="${reason}"`,
  };
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'the token does not have a valid issuer';
    if (error.claim === 'nbf') return 'the token is not valid yet';
    return `the token has an invalid ${error.claim} claim`;
  }
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the issuer matches the token kid';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  return 'the token is invalid';
}
