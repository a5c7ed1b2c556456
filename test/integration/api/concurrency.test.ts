import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyClaim } from '../../../shared/http/idempotency.ts';
import { type Client, client } from '../client.ts';
import type { TestCloud } from '../harness.ts';
import { adminSession, bodies, create } from '../seed.ts';

let cloud: TestCloud;
let admin: Client;

beforeAll(async () => {
  ({ cloud, admin } = await adminSession());
});
afterAll(() => cloud?.stop());

const names = async () =>
  (await admin.get('/api/v1/projects?limit=100')).body.items.map((p: { name: string }) => p.name) as string[];

describe('concurrent writers', () => {
  it('of the same version: exactly one update wins, the others get 412', async () => {
    const project = await create(admin, '/api/v1/projects', bodies.project());
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        admin.patch(`/api/v1/projects/${project.id}`, { description: `writer ${i}` }, { 'if-match': '"v1"' }),
      ),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(7);
    const winner = replies.find((r) => r.status === 200);
    const stored = await admin.get(`/api/v1/projects/${project.id}`);
    expect(stored.body).toMatchObject({ version: 2, description: winner?.body.description });
  });

  it('creating the same name at once: one project, the rest 409', async () => {
    const body = bodies.project();
    const replies = await Promise.all(Array.from({ length: 6 }, () => admin.post('/api/v1/projects', body)));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(5);
    // a taken name will not free itself: no Retry-After
    for (const reply of replies.filter((r) => r.body.type?.endsWith('/name-taken'))) {
      expect(reply.headers.get('retry-after')).toBeNull();
    }
    expect((await names()).filter((n) => n === body.name)).toHaveLength(1);
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response for a repeat, with the same id', async () => {
    const body = bodies.project();
    const first = await admin.post('/api/v1/projects', body, { 'idempotency-key': 'create-shop-1' });
    const again = await admin.post('/api/v1/projects', body, { 'idempotency-key': 'create-shop-1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await names()).filter((n) => n === body.name)).toHaveLength(1);
  });

  it('treats the same body with other key order or spacing as the same request', async () => {
    const body = bodies.project();
    const first = await admin.post('/api/v1/projects', body, { 'idempotency-key': 'order-1' });
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await admin.request('POST', '/api/v1/projects', {
      raw: JSON.stringify(reordered, null, 2),
      headers: { 'idempotency-key': 'order-1' },
    });
    expect(again.body.id).toBe(first.body.id);
  });

  it('refuses the same key with another body (422) and creates nothing', async () => {
    const body = bodies.project();
    await admin.post('/api/v1/projects', body, { 'idempotency-key': 'k-422' });
    const other = bodies.project();
    const reply = await admin.post('/api/v1/projects', other, { 'idempotency-key': 'k-422' });
    expect(reply.status).toBe(422);
    expect(reply.body.type).toBe('https://slipway.dev/problems/idempotency-key-reused');
    expect(await names()).not.toContain(other.name);
  });

  it('lets concurrent duplicates produce one resource', async () => {
    const body = bodies.project();
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => admin.post('/api/v1/projects', body, { 'idempotency-key': 'burst-1' })),
    );
    for (const reply of replies) expect([201, 409]).toContain(reply.status);
    for (const reply of replies.filter((r) => r.status === 409)) {
      expect(reply.body.type).toBe('https://slipway.dev/problems/idempotency-in-progress');
    }
    // a duplicate still in flight is worth retrying shortly, and says so
    for (const reply of replies.filter((r) => r.status === 409)) expect(reply.headers.get('retry-after')).toBe('1');
    const ids = new Set(replies.filter((r) => r.status === 201).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    expect((await names()).filter((n) => n === body.name)).toHaveLength(1);
    // once settled, every repeat gets the stored answer
    const later = await admin.post('/api/v1/projects', body, { 'idempotency-key': 'burst-1' });
    expect(later.body.id).toBe([...ids][0]);
  });

  it('frees the key when the request was refused, so a corrected retry may use it', async () => {
    const body = bodies.project();
    const refused = await admin.post('/api/v1/projects', { ...body, extra: 1 }, { 'idempotency-key': 'fix-me' });
    expect(refused.status).toBe(400);
    const retried = await admin.post('/api/v1/projects', body, { 'idempotency-key': 'fix-me' });
    expect(retried.status).toBe(201);
  });

  it('scopes keys to the caller: another user reusing a key gets their own result', async () => {
    const other = client(cloud.url, await cloud.mintToken({ sub: 'root-2', groups: ['platform-admins'] }));
    const mine = await admin.post('/api/v1/projects', bodies.project(), { 'idempotency-key': 'shared-key' });
    const theirs = await other.post('/api/v1/projects', bodies.project(), { 'idempotency-key': 'shared-key' });
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('takes over the claim of a request that crashed once its lease has passed, and not before', async () => {
    const root = { sub: 'root', name: undefined, email: undefined, groups: ['platform-admins'] };
    const crashed = async (key: string, body: unknown, leaseSeconds: number) =>
      // A request that claimed its key and died before answering (no completion, no release).
      new IdempotencyClaim(root, 'POST /api/v1/projects', '/api/v1/projects', key, JSON.stringify(body)).claim(
        leaseSeconds,
      );

    const live = bodies.project();
    await crashed('crash-live', live, 60);
    const blocked = await admin.post('/api/v1/projects', live, { 'idempotency-key': 'crash-live' });
    expect(blocked.status).toBe(409);
    expect(blocked.body.type).toBe('https://slipway.dev/problems/idempotency-in-progress');
    expect(await names()).not.toContain(live.name);

    const dead = bodies.project();
    await crashed('crash-dead', dead, -5);
    const retried = await admin.post('/api/v1/projects', dead, { 'idempotency-key': 'crash-dead' });
    expect(retried.status).toBe(201);
    const replay = await admin.post('/api/v1/projects', dead, { 'idempotency-key': 'crash-dead' });
    expect(replay.body.id).toBe(retried.body.id);
  });
});
