import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubSignature } from '../../../shared/hooks/signature.ts';
import { MAX_HOOK_BODY_BYTES } from '../../../shared/http/kernel.ts';
import { type Client, client, eventually } from '../client.ts';
import { quickDelivery, type Scene, startScene } from '../delivery/scene.ts';
import {
  githubHeaders,
  githubPing,
  githubPullRequest,
  githubPush,
  gitlabHeaders,
  gitlabMergeRequest,
  gitlabPush,
} from './payloads.ts';

/**
 * Git webhooks end to end on the local cloud: endpoints through the API, deliveries signed as
 * GitHub and GitLab sign them posted to the public route, runs started behind the bus.
 */
let scene: Scene;
let provider: Client;
const REPO = 'https://github.com/acme/shop-api';
beforeAll(async () => {
  scene = await startScene({
    workflowOverrides: { ...quickDelivery.workflowOverrides, pipeline: { waitTimeOverrides: { WaitForTurn: 50 } } },
  });
  provider = client(scene.cloud.url);
});
afterAll(() => scene?.cloud.stop());

interface Endpoint {
  id: string;
  url: string;
  secret: string;
  provider: string;
}
interface Delivery {
  delivery_id: string;
  outcome: { status: string; reason?: string; runs?: { pipeline_id: string; run_id: string }[]; skipped?: unknown[] };
  duration_ms?: number;
}

async function endpoint(appId: string, body: Record<string, unknown> = { provider: 'github' }, api = scene.admin) {
  const reply = await api.post(`/api/v1/apps/${appId}/webhooks`, body);
  expect(reply.status, reply.text).toBe(201);
  expect(reply.body.secret).toMatch(/^[\w-]{43}$/);
  return reply.body as Endpoint;
}

let pipelines = 0;
async function pipeline(triggers: Record<string, unknown>, appId = scene.app.id) {
  const reply = await scene.admin.post('/api/v1/pipelines', {
    app_id: appId,
    name: `hooked${++pipelines}`,
    stages: [{ name: 'build', type: 'build' }],
    triggers,
  });
  expect(reply.status, reply.text).toBe(201);
  return reply.body as { id: string };
}

/** The endpoint's URL is on the public URL; the test client takes the path. */
const pathOf = (hook: Endpoint) => new URL(hook.url).pathname;
const sha = () => randomUUID().replaceAll('-', '').padEnd(40, 'a').slice(0, 40);

function sendGithub(
  hook: Endpoint,
  event: string,
  payload: unknown,
  options: { secret?: string; delivery?: string } = {},
) {
  const body = JSON.stringify(payload);
  return provider.request('POST', pathOf(hook), {
    raw: body,
    headers: githubHeaders(event, body, options.secret ?? hook.secret, options.delivery),
  });
}

async function runsOf(pipelineId: string) {
  return (await scene.admin.get(`/api/v1/pipelines/${pipelineId}/runs`)).body.items as {
    id: string;
    deploy: boolean;
    commit: { sha: string; ref: string };
    requested_by: string;
  }[];
}

async function deliveryWhen(
  appId: string,
  hookId: string,
  id: string,
  done = (d: Delivery) => d.outcome.status !== 'pending',
) {
  return eventually(async () => {
    const reply = await scene.admin.get(`/api/v1/apps/${appId}/webhooks/${hookId}/deliveries`);
    const found = (reply.body.items as Delivery[]).find((d) => d.delivery_id === id);
    if (!found || !done(found)) throw new Error(`delivery ${id}: ${JSON.stringify(found)}`);
    return found;
  }, 20_000);
}

describe('forged deliveries', () => {
  it('an unknown endpoint and a bad signature get the same 401; a few hundred change nothing but a counter', async () => {
    const hook = await endpoint(scene.app.id);
    // Runs first in this file, once the endpoint's own change event has been audited: a quiet table.
    const before = await eventually(async () => {
      const first = await tableWithoutCounters();
      await new Promise((r) => setTimeout(r, 300));
      expect(await tableWithoutCounters()).toEqual(first);
      return first;
    });
    const payload = JSON.stringify(githubPush({ repo: REPO, ref: 'refs/heads/main' }));
    const good = githubHeaders('push', payload, hook.secret);
    const forgeries = Array.from({ length: 300 }, (_, i) => {
      const kind = i % 5;
      const body = kind === 0 ? payload.replace('main', 'mainx') : payload;
      const headers = { ...good, 'x-github-delivery': randomUUID() };
      if (kind === 1) headers['x-hub-signature-256'] = githubSignature('another-secret', body);
      if (kind === 2) headers['x-hub-signature-256'] = good['x-hub-signature-256'].slice(0, 40);
      const url = kind === 3 ? pathOf(hook).replace(hook.id, 'hook_01jzzzzzzzzzzzzzzzzzzzzzzz') : pathOf(hook);
      if (kind === 4) headers['x-hub-signature-256'] = githubSignature(hook.secret, '{"other":"body"}');
      return provider.request('POST', url, { raw: body, headers });
    });
    const replies = [];
    for (let i = 0; i < forgeries.length; i += 25) replies.push(...(await Promise.all(forgeries.slice(i, i + 25))));
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set([401]));
    const bodies = new Set(replies.map((r) => JSON.stringify({ ...r.body, instance: undefined })));
    expect(bodies.size).toBe(1);
    expect(await tableWithoutCounters()).toEqual(before);
  });
});

describe('a GitHub endpoint', () => {
  it('is verified by a ping; its secret is shown once and never listed', async () => {
    const hook = await endpoint(scene.app.id);
    expect(hook.url).toMatch(new RegExp(`/api/v1/hooks/github/${hook.id}$`));
    const ping = await sendGithub(hook, 'ping', githubPing());
    expect(ping.status, ping.text).toBe(202);
    expect(ping.body.outcome).toMatchObject({ status: 'ignored', reason: expect.stringMatching(/verified/) });
    const listed = await scene.admin.get(`/api/v1/apps/${scene.app.id}/webhooks`);
    const shown = (listed.body.items as Endpoint[]).find((h) => h.id === hook.id);
    expect(shown).toMatchObject({ verified_at: expect.any(String) });
    expect(listed.text).not.toContain(hook.secret);
  });

  it('starts the runs of the pipelines a push matches, acting for the endpoint’s creator; a redelivery starts nothing', async () => {
    const hook = await endpoint(scene.app.id);
    const onMain = await pipeline({ branches: ['main'] });
    const docsOnly = await pipeline({ branches: ['main'], paths: ['docs/**'] });
    const commit = sha();
    const delivery = randomUUID();
    const first = await sendGithub(hook, 'push', githubPush({ repo: REPO, ref: 'refs/heads/main', sha: commit }), {
      delivery,
    });
    expect(first.status, first.text).toBe(202);
    expect(first.body.outcome.status).toBe('pending');

    const done = await deliveryWhen(scene.app.id, hook.id, delivery);
    expect(done.outcome.status).toBe('dispatched');
    expect(done.outcome.runs?.map((r) => r.pipeline_id)).toEqual([onMain.id]);
    expect(done.duration_ms).toBeGreaterThanOrEqual(0);
    const [run] = await runsOf(onMain.id);
    expect(run).toMatchObject({ commit: { sha: commit, ref: 'refs/heads/main' }, deploy: true, requested_by: 'root' });
    expect(await runsOf(docsOnly.id)).toEqual([]);

    const again = await sendGithub(hook, 'push', githubPush({ repo: REPO, ref: 'refs/heads/main', sha: commit }), {
      delivery,
    });
    expect(again.status).toBe(200);
    expect(again.body.outcome).toEqual(done.outcome);
    expect(await runsOf(onMain.id)).toHaveLength(1);
  });

  it('starts one run when the same delivery arrives 20 times at once', async () => {
    const hook = await endpoint(scene.app.id);
    const p = await pipeline({ branches: ['release/*'] });
    const delivery = randomUUID();
    const payload = githubPush({ repo: REPO, ref: 'refs/heads/release/1', sha: sha() });
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => sendGithub(hook, 'push', payload, { delivery })),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.every((s) => s === 202 || s === 200)).toBe(true);
    await deliveryWhen(scene.app.id, hook.id, delivery);
    expect(await runsOf(p.id)).toHaveLength(1);
  });

  it('takes the form encoding (payload=), starts tag pipelines on a tag push, build-only runs for a pull request', async () => {
    const hook = await endpoint(scene.app.id);
    const tags = await pipeline({ tags: ['v*'] });
    const prs = await pipeline({ branches: ['never'], pull_requests: true });
    const tagged = JSON.stringify(githubPush({ repo: REPO, ref: 'refs/tags/v9.9.9', sha: sha(), commits: [] }));
    const form = `payload=${encodeURIComponent(tagged)}`;
    const delivery = randomUUID();
    const reply = await provider.request('POST', pathOf(hook), {
      raw: form,
      headers: {
        ...githubHeaders('push', form, hook.secret, delivery),
        'content-type': 'application/x-www-form-urlencoded',
      },
    });
    expect(reply.status, reply.text).toBe(202);
    expect((await deliveryWhen(scene.app.id, hook.id, delivery)).outcome.runs?.map((r) => r.pipeline_id)).toContain(
      tags.id,
    );

    const pr = randomUUID();
    const head = sha();
    expect(
      (
        await sendGithub(hook, 'pull_request', githubPullRequest({ repo: REPO, action: 'opened', sha: head }), {
          delivery: pr,
        })
      ).status,
    ).toBe(202);
    const outcome = (await deliveryWhen(scene.app.id, hook.id, pr)).outcome;
    expect(outcome.runs?.map((r) => r.pipeline_id)).toEqual([prs.id]);
    expect((await runsOf(prs.id))[0]).toMatchObject({
      deploy: false,
      commit: { sha: head, ref: 'refs/heads/feature/cart' },
    });
  });

  it('records why a branch deletion, an empty push and another event start nothing', async () => {
    const hook = await endpoint(scene.app.id);
    const deleted = await sendGithub(hook, 'push', githubPush({ repo: REPO, ref: 'refs/heads/gone', deleted: true }));
    expect(deleted.status).toBe(202);
    expect(deleted.body.outcome).toEqual({ status: 'ignored', reason: 'refs/heads/gone was deleted' });
    const empty = await sendGithub(hook, 'push', githubPush({ repo: REPO, ref: 'refs/heads/main', commits: [] }));
    expect(empty.body.outcome.reason).toMatch(/no commits/);
    const star = await sendGithub(hook, 'star', { action: 'created', repository: { id: 1 } });
    expect(star.status).toBe(202);
    expect(star.body.outcome).toMatchObject({ status: 'ignored', reason: expect.stringMatching(/star/) });
  });

  it('refuses another repository and an event it was not created for (422, stored as refused, nothing started)', async () => {
    const hook = await endpoint(scene.app.id, { provider: 'github', events: ['push'] });
    const p = await pipeline({ branches: ['fork-main'], pull_requests: true });
    const fork = await sendGithub(
      hook,
      'push',
      githubPush({ repo: 'https://github.com/evil/shop-api', ref: 'refs/heads/fork-main' }),
    );
    expect(fork.status).toBe(422);
    expect(fork.body.type).toMatch(/repository-mismatch$/);
    const pr = await sendGithub(hook, 'pull_request', githubPullRequest({ repo: REPO, action: 'opened' }));
    expect(pr.status).toBe(422);
    expect(pr.body.type).toMatch(/event-not-enabled$/);
    const log = (await scene.admin.get(`/api/v1/apps/${scene.app.id}/webhooks/${hook.id}/deliveries`)).body
      .items as Delivery[];
    expect(log.map((d) => d.outcome.status)).toEqual(['refused', 'refused']);
    expect(await runsOf(p.id)).toEqual([]);
  });

  it('answers 400 to malformed JSON or a push without its fields, 413 above 1 MiB, storing nothing', async () => {
    const hook = await endpoint(scene.app.id);
    const bad = await provider.request('POST', pathOf(hook), {
      raw: '{"ref":',
      headers: githubHeaders('push', '{"ref":', hook.secret),
    });
    expect(bad.status).toBe(400);
    const partial = await sendGithub(hook, 'push', { ref: 'refs/heads/main' });
    expect(partial.status).toBe(400);
    const big = JSON.stringify({
      ...githubPush({ repo: REPO, ref: 'refs/heads/main' }),
      pad: 'x'.repeat(MAX_HOOK_BODY_BYTES),
    });
    const tooBig = await provider.request('POST', pathOf(hook), {
      raw: big,
      headers: githubHeaders('push', big, hook.secret),
    });
    expect(tooBig.status).toBe(413);
    const log = await scene.admin.get(`/api/v1/apps/${scene.app.id}/webhooks/${hook.id}/deliveries`);
    expect(log.body.items).toEqual([]);
  });

  it('accepts the previous secret during a rotation’s overlap, and not after an overlap of 0', async () => {
    const hook = await endpoint(scene.app.id);
    const rotated = await scene.admin.post(`/api/v1/apps/${scene.app.id}/webhooks/${hook.id}/rotate`, {
      overlap_hours: 24,
    });
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body).toMatchObject({ secret_version: 2, previous_secret_valid_until: expect.any(String) });
    const ping = (secret: string) => sendGithub(hook, 'ping', githubPing(), { secret });
    expect((await ping(hook.secret)).status).toBe(202);
    expect((await ping(rotated.body.secret)).status).toBe(202);
    const cut = await scene.admin.post(`/api/v1/apps/${scene.app.id}/webhooks/${hook.id}/rotate`, { overlap_hours: 0 });
    expect(cut.status).toBe(200);
    expect(cut.body.previous_secret_valid_until).toBeUndefined();
    expect((await ping(rotated.body.secret)).status).toBe(401);
    expect((await ping(cut.body.secret)).status).toBe(202);
  });
});

describe('who the runs act for', () => {
  it('the creator as they are at dispatch: a revoked binding starts nothing, and the log says why', async () => {
    const maintainer = client(scene.cloud.url, await scene.cloud.mintToken({ sub: `maint-${randomUUID()}` }));
    const me = await maintainer.get('/api/v1/users/me');
    const binding = await scene.admin.post('/api/v1/roles/bind', {
      role: 'maintainer',
      subject: { kind: 'user', id: me.body.id },
      scope: { kind: 'project', project_id: scene.project.id },
    });
    expect(binding.status, binding.text).toBe(201);
    const hook = await endpoint(scene.app.id, { provider: 'github' }, maintainer);
    const p = await pipeline({ branches: ['revoked'] });
    expect((await scene.admin.delete(`/api/v1/bindings/${binding.body.id}`)).status).toBe(204);
    const delivery = randomUUID();
    expect(
      (await sendGithub(hook, 'push', githubPush({ repo: REPO, ref: 'refs/heads/revoked' }), { delivery })).status,
    ).toBe(202);
    const done = await deliveryWhen(scene.app.id, hook.id, delivery);
    expect(done.outcome).toMatchObject({ status: 'dispatched', runs: [], skipped: [{ pipeline_id: p.id }] });
    expect(await runsOf(p.id)).toEqual([]);
  });

  it('a creator who is no longer a user starts nothing, and the log says so', async () => {
    const sub = `gone-${randomUUID()}`;
    const gone = client(scene.cloud.url, await scene.cloud.mintToken({ sub, groups: ['platform-admins'] }));
    const hook = await endpoint(scene.app.id, { provider: 'github' }, gone);
    const p = await pipeline({ branches: ['orphaned'] });
    // No API removes a user (the IdP does): their record goes, as an offboarding would take it.
    await inspector.send(
      new DeleteCommand({ TableName: process.env.TABLE_NAME, Key: { PK: `USER#${sub}`, SK: 'USER' } }),
    );
    const delivery = randomUUID();
    await sendGithub(hook, 'push', githubPush({ repo: REPO, ref: 'refs/heads/orphaned' }), { delivery });
    const done = await deliveryWhen(scene.app.id, hook.id, delivery);
    expect(done.outcome).toEqual({ status: 'refused', reason: `the endpoint's creator ${sub} is no longer a user` });
    expect(await runsOf(p.id)).toEqual([]);
  });

  it('a replay (admins only) dispatches a stored push again', async () => {
    const hook = await endpoint(scene.app.id);
    const p = await pipeline({ branches: ['replayed'] });
    const delivery = randomUUID();
    await sendGithub(hook, 'push', githubPush({ repo: REPO, ref: 'refs/heads/replayed', sha: sha() }), { delivery });
    await deliveryWhen(scene.app.id, hook.id, delivery);
    const path = `/api/v1/apps/${scene.app.id}/webhooks/${hook.id}/deliveries/${delivery}/replay`;
    expect((await scene.developer.post(path)).status).toBe(403);
    const replay = await scene.admin.post(path);
    expect(replay.status, replay.text).toBe(202);
    await deliveryWhen(
      scene.app.id,
      hook.id,
      delivery,
      (d) => d.outcome.status === 'dispatched' && d.outcome.runs?.length === 1,
    );
    expect(await runsOf(p.id)).toHaveLength(2);
  });
});

describe('a GitLab endpoint', () => {
  it('takes the token, a push and a merge request', async () => {
    const url = 'https://gitlab.example.com/acme/shop-api';
    const app = await scene.admin.post('/api/v1/apps', {
      project_id: scene.project.id,
      name: `gl-${process.pid}`,
      repository: { provider: 'gitlab', url, default_branch: 'main' },
      deploy: { kind: 'manifests' },
      image_repository: 'registry.example.com/shop/gl',
    });
    expect(app.status, app.text).toBe(201);
    expect((await scene.admin.post(`/api/v1/apps/${app.body.id}/webhooks`, { provider: 'github' })).status).toBe(422);
    const hook = await endpoint(app.body.id, { provider: 'gitlab' });
    const p = await pipeline({ branches: ['main'], pull_requests: true }, app.body.id);
    const send = (event: string, payload: unknown, token = hook.secret, delivery = randomUUID()) =>
      provider.request('POST', pathOf(hook), {
        raw: JSON.stringify(payload),
        headers: gitlabHeaders(event, token, delivery),
      });
    expect((await send('Push Hook', gitlabPush({ repo: url, ref: 'refs/heads/main' }), 'wrong')).status).toBe(401);
    const push = randomUUID();
    expect(
      (await send('Push Hook', gitlabPush({ repo: url, ref: 'refs/heads/main', sha: sha() }), hook.secret, push))
        .status,
    ).toBe(202);
    const mr = randomUUID();
    expect((await send('Merge Request Hook', gitlabMergeRequest({ repo: url }), hook.secret, mr)).status).toBe(202);
    await deliveryWhen(app.body.id, hook.id, push);
    await deliveryWhen(app.body.id, hook.id, mr);
    expect((await runsOf(p.id)).map((r) => r.deploy).sort()).toEqual([false, true]);
    const deleted = await send('Push Hook', gitlabPush({ repo: url, ref: 'refs/heads/x', deleted: true }));
    expect(deleted.body.outcome.status).toBe('ignored');
  });
});

const inspector = DynamoDBDocumentClient.from(new DynamoDBClient({}));
/** The table, apart from the refusal counters (a Scan of the test's own table: fine in a test, never in the product). */
async function tableWithoutCounters(): Promise<string[]> {
  const items: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await inspector.send(
      new ScanCommand({ TableName: process.env.TABLE_NAME, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    for (const item of page.Items ?? []) {
      if (!String(item.PK).startsWith('HOOK_REFUSALS#') && !String(item.PK).startsWith('QUOTA#'))
        items.push(JSON.stringify(item));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort();
}
