/**
 * The platform's development OIDC issuer: an RS256 key pair, the two well-known documents an
 * OIDC client (and API Gateway's JWT authorizer) reads, and a token minter. It stands in for the
 * organisation's identity provider on one machine; nothing about it is fit for production.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  SignJWT,
} from 'jose';
import { groupsClaim } from '../../shared/auth/groups.ts';

/** The audience the local cloud's authorizer accepts (as `jwtAudience` does in infra/aws). */
export const DEFAULT_AUDIENCE = 'slipway';
const ALG = 'RS256';
const WELL_KNOWN_CONFIG = '/.well-known/openid-configuration';
const WELL_KNOWN_JWKS = '/.well-known/jwks.json';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface TokenRequest {
  sub: string;
  name?: string;
  email?: string;
  /** IdP groups, in the `SLIPWAY_GROUPS_CLAIM` claim; `SLIPWAY_ADMIN_GROUPS` (default `platform-admins`) makes a platform admin. */
  groups?: string[];
  /** Lifetime from now; negative mints an already expired token (tests). Default 3600. */
  ttlSeconds?: number;
  /** Default `slipway`. */
  audience?: string | string[];
  /** OAuth scopes, space separated. */
  scope?: string;
  /** Any other claims, or other values for the ones above (tests of claim handling). */
  claims?: Record<string, unknown>;
}

export interface DevIssuer {
  /** `http://localhost:<port>/dev-issuer`: the `iss` of every token, and what the authorizer trusts. */
  issuer: string;
  jwks: JSONWebKeySet;
  mintToken(request: TokenRequest): Promise<string>;
  /** The document served at `path` (a well-known URL of this issuer), or undefined. */
  document(path: string): object | undefined;
}

/** The issuer URL of a local cloud listening at `baseUrl` (the port is part of the issuer). */
export const devIssuerUrl = (baseUrl: string): string => `${baseUrl.replace(/\/$/, '')}/dev-issuer`;

/**
 * The signing key kept in `dir` (`private.jwk.json`, mode 0600, and the public `jwks.json`
 * beside it), created on first use so that tokens survive restarts. Without `dir`, a fresh key
 * that lives as long as the process (in-memory runs, tests).
 */
export async function loadSigningKey(dir?: string): Promise<SigningKey> {
  if (dir === undefined) return fromPrivateJwk(await newPrivateJwk());
  await mkdir(dir, { recursive: true });
  const privatePath = join(dir, 'private.jwk.json');
  try {
    // 'wx': if `npm start` and `npm run token` race to create the key, one wins and both read it.
    await writeFile(privatePath, `${JSON.stringify(await newPrivateJwk(), null, 2)}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = await fromPrivateJwk(JSON.parse(await readFile(privatePath, 'utf8')) as JWK);
  await writeFile(join(dir, 'jwks.json'), `${JSON.stringify({ keys: [key.publicJwk] }, null, 2)}\n`);
  return key;
}

export function createDevIssuer(key: SigningKey, issuer: string): DevIssuer {
  const jwks: JSONWebKeySet = { keys: [key.publicJwk] };
  const configuration = {
    issuer,
    jwks_uri: `${issuer}${WELL_KNOWN_JWKS}`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [ALG],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'name', 'email', groupsClaim(), 'scope'],
  };

  const mintToken = async (request: TokenRequest): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const { sub, name, email, groups = [], ttlSeconds = 3600, audience = DEFAULT_AUDIENCE, scope, claims } = request;
    // Groups under the claim the functions read (SLIPWAY_GROUPS_CLAIM); `claims` may override anything (tests).
    return new SignJWT({ name, email, [groupsClaim()]: groups, scope, ...claims })
      .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(sub)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttlSeconds)
      .setJti(randomUUID())
      .sign(key.privateKey);
  };

  const document = (path: string): object | undefined => {
    if (path === `${new URL(issuer).pathname}${WELL_KNOWN_CONFIG}`) return configuration;
    if (path === `${new URL(issuer).pathname}${WELL_KNOWN_JWKS}`) return jwks;
    return undefined;
  };

  return { issuer, jwks, mintToken, document };
}

async function newPrivateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: ALG, use: 'sig' };
}

async function fromPrivateJwk(jwk: JWK): Promise<SigningKey> {
  const { kty, n, e, kid } = jwk;
  if (kty !== 'RSA' || !n || !e || !kid)
    throw new Error('The dev issuer key file is not an RSA private JWK with a kid');
  return {
    kid,
    privateKey: (await importJWK(jwk, ALG)) as CryptoKey,
    publicJwk: { kty, n, e, kid, alg: ALG, use: 'sig' },
  };
}
