import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../client.ts';
import type { TestCloud } from '../harness.ts';
import { adminSession, bodies, world } from '../seed.ts';

/**
 * Random bodies at every write route: never a 5xx, and after any 4xx the whole table is as it
 * was (read with a Scan of the test's own table: fine in a test, never in the product). Quota
 * counters are left out: every write request counts, refused or not (ADR 16).
 */
const inspector = DynamoDBDocumentClient.from(new DynamoDBClient({}));
async function tableContents(): Promise<string> {
  const items: unknown[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await inspector.send(
      new ScanCommand({ TableName: process.env.TABLE_NAME, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...(page.Items ?? []).filter((item) => !String(item.PK).startsWith('QUOTA#')));
    start = page.LastEvaluatedKey;
  } while (start);
  return JSON.stringify(items.map((i) => JSON.stringify(i)).sort());
}

let cloud: TestCloud;
let admin: Client;
let fixture: Awaited<ReturnType<typeof world>>;

beforeAll(async () => {
  // Consumers off: the table then holds exactly what the API wrote, outbox items included, so a
  // 4xx that recorded an event would show up in the comparison.
  ({ cloud, admin } = await adminSession({ delivery: { deliverEvents: false } }));
  fixture = await world(admin);
});
afterAll(() => cloud?.stop());

/** Valid body with one field replaced by anything, or one unknown field, or anything at all. */
function near(valid: Record<string, unknown>) {
  const keys = Object.keys(valid);
  return fc.oneof(
    fc.jsonValue(),
    fc
      .record({ key: fc.constantFrom(...keys), value: fc.jsonValue() })
      .map(({ key, value }) => ({ ...valid, [key]: value })),
    fc
      .record({ key: fc.string({ maxLength: 20 }), value: fc.jsonValue() })
      .map(({ key, value }) => ({ ...valid, [key]: value })),
    fc.string({ maxLength: 200 }),
  );
}

const routes = () => [
  { method: 'POST', path: '/api/v1/projects', valid: bodies.project() },
  { method: 'PATCH', path: `/api/v1/projects/${fixture.project.id}`, valid: { description: 'x' } },
  { method: 'PUT', path: `/api/v1/projects/${fixture.project.id}`, valid: { description: 'x' } },
  { method: 'POST', path: '/api/v1/apps', valid: bodies.app(fixture.project.id) },
  { method: 'PATCH', path: `/api/v1/apps/${fixture.app.id}`, valid: { description: 'x' } },
  {
    method: 'PUT',
    path: `/api/v1/apps/${fixture.app.id}`,
    valid: (({ project_id: _p, name: _n, ...changes }) => changes)(bodies.app(fixture.project.id)),
  },
  { method: 'POST', path: `/api/v1/apps/${fixture.app.id}/envs`, valid: bodies.env(fixture.cluster.id) },
  { method: 'PATCH', path: `/api/v1/apps/${fixture.app.id}/envs/prod`, valid: { order: 3 } },
  { method: 'POST', path: '/api/v1/clusters', valid: bodies.cluster() },
  { method: 'PATCH', path: `/api/v1/clusters/${fixture.cluster.id}`, valid: { region: 'us-east-1' } },
  { method: 'POST', path: '/api/v1/teams', valid: bodies.team() },
  {
    method: 'POST',
    path: '/api/v1/roles/bind',
    valid: { role: 'viewer', subject: { kind: 'user', id: 'root' }, scope: { kind: 'platform' } },
  },
];

describe('random bodies at every write route', () => {
  it('never get a 5xx, and a 4xx writes nothing', async () => {
    for (const route of routes()) {
      await fc.assert(
        fc.asyncProperty(near(route.valid as Record<string, unknown>), async (body) => {
          const headers: Record<string, string> =
            route.method === 'POST' ? {} : { 'if-match': (await admin.get(route.path)).headers.get('etag') ?? '' };
          const before = await tableContents();
          const reply = await admin.request(route.method, route.path, { raw: JSON.stringify(body), headers });
          expect(reply.status, `${route.method} ${route.path} ${JSON.stringify(body)} → ${reply.text}`).toBeLessThan(
            500,
          );
          if (reply.status >= 400) {
            expect(reply.headers.get('content-type')).toBe('application/problem+json');
            expect(await tableContents(), `${route.method} ${route.path} ${reply.text}`).toBe(before);
          }
        }),
        { numRuns: 25 },
      );
    }
    // Hundreds of requests: alone ~6 s, but the whole suite shares 2 cores with it.
  }, 120_000);
});
