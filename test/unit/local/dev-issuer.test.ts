import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevIssuer, devIssuerUrl, loadSigningKey } from '../../../infra/local/dev-issuer.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-dev-issuer-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('signing key', () => {
  it('is created once in the data folder, private key readable by its owner only, and reused', async () => {
    const [first, second] = await Promise.all([loadSigningKey(dir), loadSigningKey(dir)]);
    const again = await loadSigningKey(dir);
    expect(second?.kid).toBe(first?.kid);
    expect(again.kid).toBe(first?.kid);
    expect((await stat(join(dir, 'private.jwk.json'))).mode & 0o777).toBe(0o600);
    const published = JSON.parse(await readFile(join(dir, 'jwks.json'), 'utf8'));
    expect(published).toEqual({ keys: [again.publicJwk] });
    expect(again.publicJwk).not.toHaveProperty('d');
  });

  it('is new for every in-memory load', async () => {
    expect((await loadSigningKey()).kid).not.toBe((await loadSigningKey()).kid);
  });
});

describe('dev issuer', () => {
  const issuerUrl = devIssuerUrl('http://localhost:3000/');

  it('lives under /dev-issuer of the local cloud', () => {
    expect(issuerUrl).toBe('http://localhost:3000/dev-issuer');
  });

  it('mints RS256 tokens with the kid and the claims the platform reads', async () => {
    const issuer = createDevIssuer(await loadSigningKey(), issuerUrl);
    const token = await issuer.mintToken({
      sub: 'alice',
      name: 'Alice',
      email: 'a@example.com',
      groups: ['dev'],
      ttlSeconds: 600,
    });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(issuer.jwks), {
      issuer: issuerUrl,
      audience: 'slipway',
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: issuer.jwks.keys[0]?.kid, typ: 'JWT' });
    expect(payload).toMatchObject({ sub: 'alice', name: 'Alice', email: 'a@example.com', groups: ['dev'] });
    expect(payload.nbf).toBe(payload.iat);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
    expect(payload.jti).toBeTypeOf('string');
  });

  it('leaves out what was not asked for, and takes any audience', async () => {
    const issuer = createDevIssuer(await loadSigningKey(), issuerUrl);
    const token = await issuer.mintToken({ sub: 'bob', audience: ['a', 'b'] });
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
    expect(payload).not.toHaveProperty('name');
    expect(payload).not.toHaveProperty('email');
    expect(payload.groups).toEqual([]);
    expect(payload.aud).toEqual(['a', 'b']);
    expect(decodeProtectedHeader(token).kid).toBeDefined();
  });

  it('serves its discovery document and JWKS at the well-known paths, and nothing else', async () => {
    const issuer = createDevIssuer(await loadSigningKey(), issuerUrl);
    expect(issuer.document('/dev-issuer/.well-known/openid-configuration')).toMatchObject({
      issuer: issuerUrl,
      jwks_uri: `${issuerUrl}/.well-known/jwks.json`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
    expect(issuer.document('/dev-issuer/.well-known/jwks.json')).toBe(issuer.jwks);
    expect(issuer.document('/.well-known/openid-configuration')).toBeUndefined();
  });
});
