import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApiEvent } from '../../../infra/local/api-event.ts';
import { createDevIssuer, type DevIssuer, loadSigningKey, type TokenRequest } from '../../../infra/local/dev-issuer.ts';
import { createJwtAuthorizer, type JwtAuthorizer, stringifyClaims } from '../../../infra/local/jwt-authorizer.ts';
import { callerFrom } from '../../../shared/auth/caller.ts';
import { isPlatformAdmin } from '../../../shared/auth/groups.ts';

const ISSUER = 'http://localhost:3000/dev-issuer';
const ADMIN = 'platform-admins'; // SLIPWAY_ADMIN_GROUPS' default, which these tests run with
const HOSTILE = ['ops platform-admins', 'former,platform-admins', 'platform-admins (read-only)'];

let issuer: DevIssuer;
let authorize: JwtAuthorizer;
beforeAll(async () => {
  issuer = createDevIssuer(await loadSigningKey(), ISSUER);
  authorize = createJwtAuthorizer({ issuer: ISSUER, audiences: ['slipway'], keys: issuer.jwks });
});

const env = process.env;
afterEach(() => {
  delete env.SLIPWAY_GROUPS_CLAIM;
  delete env.SLIPWAY_GROUPS_DELIMITER;
});

/** The event a function gets from API Gateway for `authorization`, with the claims its JWT authorizer handed over. */
function apiEvent(authorization: string, claims: Record<string, unknown>) {
  return buildApiEvent(
    {
      method: 'GET',
      target: '/api/v1/users/me',
      httpVersion: '1.1',
      headers: { host: ['localhost:3000'], authorization: [authorization] },
      body: Buffer.alloc(0),
      sourceIp: '127.0.0.1',
      port: 3000,
    },
    {
      routeKey: 'GET /api/v1/users/me',
      pathParameters: undefined,
      requestId: 'req-1',
      time: new Date(),
      jwt: { claims: claims as Record<string, string>, scopes: null },
    },
  ) as APIGatewayProxyEventV2WithJWTAuthorizer;
}

/** A token of the dev issuer through the local JWT authorizer, as a request reaches a function. */
async function viaGateway(request: TokenRequest) {
  const token = await issuer.mintToken(request);
  const decision = await authorize(`Bearer ${token}`);
  if (!decision.authorized) throw new Error(decision.reason);
  return apiEvent(`Bearer ${token}`, decision.jwt.claims);
}

const groupsOf = (event: APIGatewayProxyEventV2WithJWTAuthorizer) => callerFrom(event)?.groups;
const adminFrom = (event: APIGatewayProxyEventV2WithJWTAuthorizer) => isPlatformAdmin(groupsOf(event) ?? []);

describe('groups claim', () => {
  it('reads an array claim, stringified by API Gateway, as whole names from the token', async () => {
    const event = await viaGateway({ sub: 'alice', groups: ['ops team', 'platform-admins', 'a,b'] });
    expect(event.requestContext.authorizer.jwt.claims.groups).toBe('[ops team platform-admins a,b]');
    expect(groupsOf(event)).toEqual(['ops team', 'platform-admins', 'a,b']);
    expect(adminFrom(event)).toBe(true);
  });

  it.each(HOSTILE)('"%s" makes nobody an admin, as a string, an array, or a stringified array', async (group) => {
    expect(groupsOf(await viaGateway({ sub: 'mallory', claims: { groups: group } }))).toEqual([group]);
    expect(groupsOf(await viaGateway({ sub: 'mallory', groups: [group] }))).toEqual([group]);
    expect(groupsOf(await viaGateway({ sub: 'mallory', groups: [group, 'dev'] }))).toEqual([group, 'dev']);
    const other = await issuer.mintToken({ sub: 'mallory' });
    expect(groupsOf(apiEvent(`Bearer ${other}`, { sub: 'mallory', groups: [group] }))).toEqual([group]);
    for (const event of [
      await viaGateway({ sub: 'mallory', claims: { groups: group } }),
      await viaGateway({ sub: 'mallory', groups: [group] }),
      apiEvent(`Bearer ${other}`, { sub: 'mallory', groups: [group] }),
    ]) {
      expect(adminFrom(event)).toBe(false);
    }
  });

  it('gives no groups for a stringified array the Authorization token does not back', async () => {
    const claims = stringifyClaims({ sub: 'mallory', groups: ['ops', 'platform-admins'] });
    // No token, not a JWT, someone else's token, a token whose groups are not the ones handed over, two tokens.
    const unrelated = await issuer.mintToken({ sub: 'mallory', groups: ['ops platform-admins'] });
    const someoneElse = await issuer.mintToken({ sub: 'alice', groups: ['ops', 'platform-admins'] });
    const fewer = await issuer.mintToken({ sub: 'mallory', groups: ['ops'] });
    for (const authorization of ['', 'Bearer x', `Bearer ${someoneElse}`, `Bearer ${fewer}`, `${unrelated},x`]) {
      expect(groupsOf(apiEvent(authorization, claims)), authorization).toEqual([]);
    }
    // `["ops platform-admins"]` and `["ops", "platform-admins"]` look alike once stringified: the token tells.
    expect(groupsOf(apiEvent(`Bearer ${unrelated}`, claims))).toEqual(['ops platform-admins']);
  });

  it('keeps a string claim that looks like a list as one group', async () => {
    expect(groupsOf(await viaGateway({ sub: 'a', claims: { groups: '[platform-admins]' } }))).toEqual([
      '[platform-admins]',
    ]);
    expect(groupsOf(await viaGateway({ sub: 'a', claims: { groups: '' } }))).toEqual([]);
    expect(groupsOf(await viaGateway({ sub: 'a', groups: [] }))).toEqual([]);
  });

  it('splits a string claim only on the configured delimiter', async () => {
    env.SLIPWAY_GROUPS_DELIMITER = ';';
    expect(groupsOf(await viaGateway({ sub: 'a', claims: { groups: 'ops;platform-admins' } }))).toEqual([
      'ops',
      'platform-admins',
    ]);
    expect(groupsOf(await viaGateway({ sub: 'a', claims: { groups: 'ops platform-admins,x' } }))).toEqual([
      'ops platform-admins,x',
    ]);
    // An array stays a list of whole names.
    expect(groupsOf(await viaGateway({ sub: 'a', groups: ['ops;platform-admins'] }))).toEqual(['ops;platform-admins']);
  });

  it.each(['cognito:groups', 'roles'])(
    'reads the claim SLIPWAY_GROUPS_CLAIM names (%s), and only that one',
    async (claim) => {
      env.SLIPWAY_GROUPS_CLAIM = claim;
      const event = await viaGateway({ sub: 'a', groups: ['platform-admins'], claims: { groups: ['dev'] } });
      expect(event.requestContext.authorizer.jwt.claims[claim]).toBe('[platform-admins]');
      expect(groupsOf(event)).toEqual(['platform-admins']);
      delete env.SLIPWAY_GROUPS_CLAIM;
      expect(groupsOf(event)).toEqual(['dev']);
    },
  );
});

describe('platform admin', () => {
  /** Names near the admin group: in lists, quoted, bracketed, padded, cased, joined to others. */
  const nearAdmin = fc.oneof(
    fc.constantFrom(
      ADMIN,
      ...HOSTILE,
      `[${ADMIN}]`,
      ` ${ADMIN}`,
      `${ADMIN} `,
      `${ADMIN}\n`,
      'Platform-Admins',
      '"platform-admins"',
    ),
    fc
      .tuple(
        fc.string({ maxLength: 5 }),
        fc.constantFrom(' ', ',', ';', '\t', '[', ']', '"', '(', ' (read-only)'),
        fc.string({ maxLength: 5 }),
      )
      .map(([before, mark, after]) => `${before}${mark}${ADMIN}${after}`),
    fc.string({ maxLength: 20 }),
  );

  it('is granted by no claim value that is not exactly an admin group, in any form the claim arrives', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(nearAdmin, { maxLength: 4 }), async (groups) => {
        const exact = groups.includes(ADMIN);
        // An array claim through API Gateway (stringified), and as a real array from another authorizer.
        expect(adminFrom(await viaGateway({ sub: 'u', groups }))).toBe(exact);
        expect(adminFrom(apiEvent('', { sub: 'u', groups }))).toBe(exact);
        // Each value as a string claim.
        for (const group of groups) {
          expect(adminFrom(await viaGateway({ sub: 'u', claims: { groups: group } }))).toBe(group === ADMIN);
        }
        // Stringified without the token behind it: nobody.
        expect(adminFrom(apiEvent('', stringifyClaims({ sub: 'u', groups })))).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
});
