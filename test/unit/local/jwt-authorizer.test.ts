import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDevIssuer, type DevIssuer, loadSigningKey, type SigningKey } from '../../../infra/local/dev-issuer.ts';
import {
  createJwtAuthorizer,
  type JwtAuthorizer,
  scopesOf,
  stringifyClaims,
} from '../../../infra/local/jwt-authorizer.ts';
import { stringifyClaim } from '../../../shared/auth/groups.ts';

const ISSUER = 'http://localhost:3000/dev-issuer';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

let key: SigningKey;
let issuer: DevIssuer;
let authorize: JwtAuthorizer;

/** Signs any payload with the issuer's key; the defaults make a valid token. */
function sign(payload: JWTPayload, options: { withoutKid?: boolean } = {}): Promise<string> {
  const claims = { iss: ISSUER, aud: 'slipway', sub: 'alice', exp: now() + 60, ...payload };
  const header = options.withoutKid ? { alg: 'RS256' } : { alg: 'RS256', kid: key.kid };
  return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
}

const refusal = async (header: string | undefined) => {
  const decision = await authorize(header);
  if (decision.authorized) throw new Error('expected a refusal');
  return decision.reason;
};

beforeAll(async () => {
  key = await loadSigningKey();
  issuer = createDevIssuer(key, ISSUER);
  authorize = createJwtAuthorizer({ issuer: ISSUER, audiences: ['slipway'], keys: issuer.jwks });
});

describe('JWT authorizer: what passes', () => {
  it('accepts a token of the issuer, with or without the Bearer prefix (the identity source may be the bare token)', async () => {
    const token = await issuer.mintToken({ sub: 'alice' });
    for (const header of [`Bearer ${token}`, `bearer ${token}`, token, `  Bearer   ${token} `]) {
      expect((await authorize(header)).authorized).toBe(true);
    }
  });

  it('hands over the claims as API Gateway does: every value a string, arrays as [a b]', async () => {
    const token = await issuer.mintToken({
      sub: 'alice',
      name: 'Alice',
      groups: ['platform-admins', 'dev'],
      scope: 'read write',
      claims: { level: 3, admin: true },
    });
    const decision = await authorize(`Bearer ${token}`);
    if (!decision.authorized) throw new Error(decision.reason);
    const { claims, scopes } = decision.jwt;
    expect(claims).toMatchObject({
      sub: 'alice',
      name: 'Alice',
      groups: '[platform-admins dev]',
      level: '3',
      admin: 'true',
      iss: ISSUER,
      aud: 'slipway',
    });
    expect(claims.exp).toMatch(/^\d{10}$/);
    expect(Object.values(claims).every((value) => typeof value === 'string')).toBe(true);
    expect(scopes).toEqual(['read', 'write']);
  });

  it('accepts aud as a list containing the audience, and client_id when there is no aud (Cognito access tokens)', async () => {
    expect((await authorize(await sign({ aud: ['other', 'slipway'] }))).authorized).toBe(true);
    expect((await authorize(await sign({ aud: undefined, client_id: 'slipway' }))).authorized).toBe(true);
  });

  it('tolerates a few seconds of clock skew on exp', async () => {
    expect((await authorize(await sign({ exp: now() - 2 }))).authorized).toBe(true);
  });

  it('accepts RS384 and RS512 signatures', async () => {
    for (const alg of ['RS384', 'RS512']) {
      const pair = await generateKeyPair(alg, { extractable: true });
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: alg, alg };
      const check = createJwtAuthorizer({ issuer: ISSUER, audiences: ['slipway'], keys: { keys: [jwk] } });
      const token = await new SignJWT({ iss: ISSUER, aud: 'slipway', sub: 'a', exp: now() + 60 })
        .setProtectedHeader({ alg, kid: alg })
        .sign(pair.privateKey);
      expect((await check(token)).authorized).toBe(true);
    }
  });
});

describe('JWT authorizer: what is refused (401)', () => {
  it('a missing or empty header, with a bare Bearer challenge', async () => {
    for (const header of [undefined, '', 'Bearer ', '   ']) {
      const decision = await authorize(header);
      expect(decision).toEqual({ authorized: false, reason: 'no token', wwwAuthenticate: 'Bearer' });
    }
  });

  it('names the reason in www-authenticate as AWS documents it', async () => {
    const decision = await authorize(await sign({ aud: 'other' }));
    expect(decision).toEqual({
      authorized: false,
      reason: 'the token does not have a valid audience',
      wwwAuthenticate:
        'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"',
    });
  });

  it('a wrong or missing audience; aud wins over client_id when both are present', async () => {
    expect(await refusal(await sign({ aud: 'other' }))).toBe('the token does not have a valid audience');
    expect(await refusal(await sign({ aud: undefined }))).toBe('the token does not have a valid audience');
    expect(await refusal(await sign({ aud: 'other', client_id: 'slipway' }))).toBe(
      'the token does not have a valid audience',
    );
  });

  it('another issuer, even one signing with the same key', async () => {
    expect(await refusal(await sign({ iss: 'http://localhost:4000/dev-issuer' }))).toBe(
      'the token does not have a valid issuer',
    );
    expect(await refusal(await sign({ iss: undefined }))).toBe('the token does not have a valid issuer');
  });

  it('an expired token, one not valid yet, and one without exp', async () => {
    expect(await refusal(await issuer.mintToken({ sub: 'a', ttlSeconds: -60 }))).toBe('the token has expired');
    expect(await refusal(await sign({ nbf: now() + 3600 }))).toBe('the token is not valid yet');
    expect(await refusal(await sign({ exp: undefined }))).toBe('the token has an invalid exp claim');
  });

  it('expiry follows the authorizer clock', async () => {
    const token = await issuer.mintToken({ sub: 'a', ttlSeconds: 60 });
    const later = createJwtAuthorizer({
      issuer: ISSUER,
      audiences: ['slipway'],
      keys: issuer.jwks,
      now: () => new Date(Date.now() + 120_000),
    });
    expect(await later(token)).toMatchObject({ authorized: false, reason: 'the token has expired' });
  });

  it('alg none, HMAC (even keyed with the public key), and RSA-PSS', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT', kid: key.kid })}.${b64({ iss: ISSUER, aud: 'slipway', sub: 'a', exp: now() + 60 })}.`;
    expect(await refusal(unsigned)).toBe('signing method none is invalid');

    const hmacKey = new TextEncoder().encode(JSON.stringify(key.publicJwk));
    const hmac = await new SignJWT({ iss: ISSUER, aud: 'slipway', sub: 'a', exp: now() + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .sign(hmacKey);
    expect(await refusal(hmac)).toBe('signing method HS256 is invalid');

    const pss = await generateKeyPair('PS256');
    const token = await new SignJWT({ iss: ISSUER, aud: 'slipway', sub: 'a', exp: now() + 60 })
      .setProtectedHeader({ alg: 'PS256', kid: key.kid })
      .sign(pss.privateKey);
    expect(await refusal(token)).toBe('signing method PS256 is invalid');
  });

  it('a signature by another key, under the real kid or an unknown one', async () => {
    const stranger = createDevIssuer({ ...(await loadSigningKey()), kid: key.kid }, ISSUER);
    expect(await refusal(await stranger.mintToken({ sub: 'a' }))).toBe('the token signature is invalid');
    expect(await refusal(await createDevIssuer(await loadSigningKey(), ISSUER).mintToken({ sub: 'a' }))).toBe(
      'no key of the issuer matches the token kid',
    );
  });

  it('a token without kid, a tampered payload, and things that are not JWTs', async () => {
    expect(await refusal(await sign({}, { withoutKid: true }))).toBe('the token has no kid header');
    const [header, , signature] = (await issuer.mintToken({ sub: 'mallory' })).split('.');
    const tampered = `${header}.${b64({ iss: ISSUER, aud: 'slipway', sub: 'root', exp: now() + 60 })}.${signature}`;
    expect(await refusal(tampered)).toBe('the token signature is invalid');
    expect(await refusal('Basic YWxpY2U6c2VjcmV0')).toBe('the token is malformed');
    expect(await refusal('Bearer not.a.jwt')).toBe('the token is malformed');
  });
});

describe('claim stringification', () => {
  it('renders each JSON type as API Gateway does', () => {
    expect(stringifyClaim('text')).toBe('text');
    expect(stringifyClaim(1754870400)).toBe('1754870400');
    expect(stringifyClaim(1.5)).toBe('1.5');
    expect(stringifyClaim(false)).toBe('false');
    expect(stringifyClaim(['platform-admins', 'dev'])).toBe('[platform-admins dev]');
    expect(stringifyClaim([])).toBe('[]');
    expect(stringifyClaim([1, true, ['x']])).toBe('[1 true [x]]');
  });

  it('keeps objects and null parseable (AWS does not document them)', () => {
    expect(stringifyClaims({ address: { country: 'NL' }, nothing: null })).toEqual({
      address: '{"country":"NL"}',
      nothing: 'null',
    });
  });
});

describe('scopes', () => {
  it('come from scope (space separated) or scp (list or string), else null', () => {
    expect(scopesOf({ scope: 'read  write' })).toEqual(['read', 'write']);
    expect(scopesOf({ scp: ['read', 'write'] })).toEqual(['read', 'write']);
    expect(scopesOf({ scp: 'admin' })).toEqual(['admin']);
    expect(scopesOf({ scope: '' })).toBeNull();
    expect(scopesOf({})).toBeNull();
  });
});
