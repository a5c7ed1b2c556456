import { request as httpRequest } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Client, client } from '../client.ts';
import type { TestCloud } from '../harness.ts';
import { adminSession, bodies, unique } from '../seed.ts';

/**
 * What the API takes from a request only as far as it was verified (ADR 17), through the local
 * gateway and its JWT authorizer with real tokens of the dev issuer: group names are whole
 * names, the Host header names nothing, and answers that depend on the caller say so.
 */

let cloud: TestCloud;
let admin: Client;
beforeAll(async () => {
  ({ cloud, admin } = await adminSession());
});
afterAll(() => cloud?.stop());
afterEach(() => {
  delete process.env.SLIPWAY_GROUPS_CLAIM;
});

const HOSTILE = ['ops platform-admins', 'former,platform-admins', 'platform-admins (read-only)'];
const adminGrant = { role: 'admin', scope: 'platform', via: 'admin-group' };

/** A caller whose token carries `claims`, and what the platform makes of them. */
async function callerWith(claims: Record<string, unknown>) {
  const api = client(cloud.url, await cloud.mintToken({ sub: unique('user'), claims }));
  const me = await api.get('/api/v1/users/me');
  expect(me.status).toBe(200);
  const create = await api.post('/api/v1/projects', bodies.project());
  return { groups: me.body.groups, admin: me.body.grants.some((g: object) => matches(g)), create: create.status };
}
const matches = (grant: object) => JSON.stringify(grant) === JSON.stringify(adminGrant);

describe('token groups', () => {
  it.each(HOSTILE)(
    '"%s" is one group and no admin: as a string claim, an array, or next to another group',
    async (group) => {
      for (const groups of [group, [group], [group, 'dev'], ['dev', group]]) {
        const seen = await callerWith({ groups });
        expect(seen, JSON.stringify(groups)).toEqual({
          groups: Array.isArray(groups) ? groups : [groups],
          admin: false,
          create: 403,
        });
      }
    },
  );

  it('the admin group itself, alone or among others, makes a platform admin', async () => {
    for (const groups of ['platform-admins', ['platform-admins'], ['ops team', 'platform-admins']]) {
      expect(await callerWith({ groups }), JSON.stringify(groups)).toMatchObject({ admin: true, create: 201 });
    }
  });

  it('come from the claim SLIPWAY_GROUPS_CLAIM names, and only from it', async () => {
    process.env.SLIPWAY_GROUPS_CLAIM = 'cognito:groups';
    expect(await callerWith({ 'cognito:groups': ['platform-admins'] })).toMatchObject({ admin: true, create: 201 });
    expect(await callerWith({ groups: ['platform-admins'] })).toEqual({ groups: [], admin: false, create: 403 });
  });
});

describe('the Host header', () => {
  /** A raw request, so Host and X-Forwarded-Host say whatever a client or a proxy in between wants. */
  function getWithHost(path: string, host: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${cloud.url}${path}`, { headers: { host, 'x-forwarded-host': host } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('never names the server in the OpenAPI document: that is the configured public URL', async () => {
    const reply = await getWithHost('/api/v1/openapi.json', 'evil.example');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).servers).toEqual([{ url: cloud.url }]);
    expect(reply.body).not.toContain('evil.example');
  });
});

describe('answers that depend on the caller', () => {
  it('carry Vary: Authorization, errors and replays included; public ones do not need it', async () => {
    const key = { 'idempotency-key': unique('key') };
    const body = bodies.project();
    const replies = [
      await admin.get('/api/v1/users/me'),
      await admin.get('/api/v1/projects'),
      await admin.get('/api/v1/projects/prj_01jd0000000000000000000000'),
      await admin.post('/api/v1/projects', body, key),
      await admin.post('/api/v1/projects', body, key),
      await admin.post('/api/v1/projects', { name: '' }),
    ];
    expect(replies.map((r) => r.status)).toEqual([200, 200, 404, 201, 201, 400]);
    expect(replies[4]?.headers.get('idempotent-replayed')).toBe('true');
    for (const reply of replies) expect(reply.headers.get('vary')).toBe('Authorization');
    expect((await client(cloud.url).get('/api/v1/health')).headers.get('vary')).toBeNull();
  });
});
