import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_DEPLOYS_PER_MINUTE, DEFAULT_WRITES_PER_MINUTE } from '../../../shared/quotas/meter.ts';
import { type Client, client, type Reply } from '../client.ts';
import { deploy, quickDelivery, statusWhen } from '../delivery/scene.ts';
import { type DeliveryWorld, deliveryWorld } from '../delivery/world.ts';
import { startTestCloud, type TestCloud } from '../harness.ts';
import { bodies } from '../seed.ts';

/**
 * Per-caller quotas with the AWS defaults (60 writes a minute per user, 10 deploy or rollback
 * requests a minute per environment): the request over the limit is a 429 with Retry-After and the
 * RateLimit fields, and writes nothing.
 */
let cloud: TestCloud;
let world: DeliveryWorld;

beforeAll(async () => {
  cloud = await startTestCloud({
    delivery: quickDelivery,
    limits: { quotas: { writesPerMinute: DEFAULT_WRITES_PER_MINUTE, deploysPerMinute: DEFAULT_DEPLOYS_PER_MINUTE } },
  });
  world = await deliveryWorld(cloud);
});
afterAll(() => cloud?.stop());

const signedIn = async (sub: string) => client(cloud.url, await cloud.mintToken({ sub, groups: ['platform-admins'] }));

/** Windows are whole clock minutes: a burst that would straddle two waits for the next one to start. */
// A burst of ~60 requests takes 5-20 s when the whole suite shares two cores: each test waits until
// 30 s of the minute are left, so more than the default 30 s may pass.
vi.setConfig({ testTimeout: 90_000 });

async function freshWindow(burstSeconds: number) {
  const left = 60 - ((Date.now() / 1000) % 60);
  if (left < burstSeconds) await new Promise((r) => setTimeout(r, left * 1000 + 50));
}

/** `count` requests, 15 at a time (all at once would only measure how DynamoDB Local copes). */
async function inWaves(count: number, send: (i: number) => Promise<Reply>): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let start = 0; start < count; start += 15) {
    const wave = Array.from({ length: Math.min(15, count - start) }, (_, i) => send(start + i));
    replies.push(...(await Promise.all(wave)));
  }
  return replies;
}

/** `"writes";r=3;t=17, "deploys";r=0;t=17` → { writes: { r: 3, t: 17 }, deploys: ... } */
function rateLimits(reply: Reply): Record<string, { r: number; t: number }> {
  const field = reply.headers.get('ratelimit') ?? '';
  return Object.fromEntries(
    [...field.matchAll(/"(\w+)";r=(\d+);t=(\d+)/g)].map(([, name, r, t]) => [name, { r: Number(r), t: Number(t) }]),
  );
}

function expectRefused(reply: Reply, policy: string) {
  expect(reply.status).toBe(429);
  expect(reply.headers.get('content-type')).toBe('application/problem+json');
  expect(reply.body).toMatchObject({
    type: 'https://slipway.dev/problems/rate-limited',
    status: 429,
    violated_policies: [policy],
  });
  const { r, t } = rateLimits(reply)[policy] ?? { r: -1, t: -1 };
  expect(r).toBe(0);
  expect(t).toBeGreaterThanOrEqual(1);
  expect(t).toBeLessThanOrEqual(60);
  // The client may come back when the window turns, and not before.
  expect(reply.headers.get('retry-after')).toBe(String(t));
}

async function projectsNamed(api: Client, prefix: string): Promise<number> {
  let found = 0;
  let cursor: string | undefined;
  do {
    const page = await api.get(`/api/v1/projects?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    found += page.body.items.filter((p: { name: string }) => p.name.startsWith(prefix)).length;
    cursor = page.body.next_cursor ?? undefined;
  } while (cursor);
  return found;
}

describe('the write quota (per user)', () => {
  it('refuses the 61st write of a minute with 429, Retry-After and RateLimit, and creates nothing for it', async () => {
    const alice = await signedIn('quota-alice');
    await freshWindow(30);
    const first = await alice.post('/api/v1/projects', { name: 'burst-first' }, { 'idempotency-key': 'burst-1' });
    expect(first.status).toBe(201);
    expect(first.headers.get('ratelimit-policy')).toBe('"writes";q=60;w=60');
    expect(rateLimits(first).writes?.r).toBe(59);

    // 60 more, 15 at a time: the counter is one conditional ADD, so exactly 59 of them fit.
    const burst = await inWaves(60, (i) => alice.post('/api/v1/projects', { name: `burst-${i}` }));
    const created = burst.filter((reply) => reply.status === 201);
    const refused = burst.filter((reply) => reply.status !== 201);
    expect(created).toHaveLength(59);
    expect(refused).toHaveLength(1);
    expectRefused(refused[0] as Reply, 'writes');
    // Each success says what was left after it: every count from 58 down to 0, once.
    expect(created.map((reply) => rateLimits(reply).writes?.r).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
      Array.from({ length: 59 }, (_, i) => i),
    );
    expect(await projectsNamed(alice, 'burst-')).toBe(60);

    // Every write method counts; the refused change is not made.
    const project = created[0]?.body;
    const patched = await alice.patch(`/api/v1/projects/${project.id}`, { description: 'x' }, { 'if-match': '"v1"' });
    expectRefused(patched, 'writes');
    expect((await alice.delete(`/api/v1/projects/${project.id}`, { 'if-match': '"v1"' })).status).toBe(429);
    expect((await alice.get(`/api/v1/projects/${project.id}`)).body.version).toBe(1);
  });

  it('never refuses a read, and reads carry no RateLimit fields', async () => {
    const bob = await signedIn('quota-bob');
    await freshWindow(30);
    const writes = await inWaves(61, () => bob.post('/api/v1/teams', bodies.team()));
    expect(writes.filter((reply) => reply.status === 429)).toHaveLength(1);
    for (const path of ['/api/v1/teams', `/api/v1/teams/${writes.find((w) => w.status === 201)?.body.id}`]) {
      const read = await bob.get(path);
      expect(read.status).toBe(200);
      expect(read.headers.get('ratelimit')).toBeNull();
    }
    // Quotas are per user: someone else still writes.
    expect((await world.admin.post('/api/v1/teams', bodies.team())).status).toBe(201);
  });

  it('replays a stored answer without counting it, even when the quota is used up', async () => {
    const carol = await signedIn('quota-carol');
    await freshWindow(30);
    const first = await carol.post('/api/v1/teams', { name: 'carol-team' }, { 'idempotency-key': 'team-1' });
    expect(first.status).toBe(201);
    const rest = await inWaves(60, () => carol.post('/api/v1/teams', bodies.team()));
    expect(rest.filter((reply) => reply.status === 429)).toHaveLength(1);

    const replay = await carol.post('/api/v1/teams', { name: 'carol-team' }, { 'idempotency-key': 'team-1' });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    // Refused with a key: the key is free again, so the same request may be retried after Retry-After.
    const keyed = await carol.post('/api/v1/teams', { name: 'carol-later' }, { 'idempotency-key': 'team-2' });
    expectRefused(keyed, 'writes');
    const again = await carol.post('/api/v1/teams', { name: 'carol-later' }, { 'idempotency-key': 'team-2' });
    expect(again.status).toBe(429);
  });
});

describe('the deploy quota (per environment)', () => {
  it('refuses the 11th deploy or rollback request to one environment in a minute, and creates no deployment', async () => {
    await freshWindow(30);
    for (let n = 1; n <= 10; n++) {
      const accepted = await deploy(world.developer, world.app.id, { env: 'dev', image: `1.0.${n}` });
      expect(accepted.status).toBe(202);
      expect(accepted.headers.get('ratelimit-policy')).toBe('"writes";q=60;w=60, "deploys";q=10;w=60');
      expect(rateLimits(accepted).deploys?.r).toBe(10 - n);
    }
    // The same environment through the other route shares the count.
    const eleventh = await world.developer.post('/api/v1/deployments', {
      app_id: world.app.id,
      env: 'dev',
      image: '1.0.11',
    });
    expectRefused(eleventh, 'deploys');
    expect(rateLimits(eleventh).writes?.r).toBe(60 - 11);

    const deployments = await world.developer.get(`/api/v1/deployments?app_id=${world.app.id}&env=dev&limit=100`);
    expect(deployments.body.items).toHaveLength(10);
    expect(deployments.body.items.map((d: { image: string }) => d.image)).not.toContain(
      expect.stringMatching(/:1\.0\.11$/),
    );

    // Another environment has its own count.
    const prod = await deploy(world.developer, world.app.id, { env: 'prod', image: '1.0.11' });
    expect(prod.status).toBe(202);

    // Nothing left running when the cloud stops: the queue on dev drains, prod's approval is withdrawn.
    expect((await world.developer.post(`/api/v1/deployments/${prod.body.id}/cancel`, {})).status).toBe(200);
    // The newest waits behind the nine before it, one at a time.
    await statusWhen(world.developer, deployments.body.items[0].id, undefined, 60_000);
  });
});
