import { randomBytes } from 'node:crypto';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedBuildDigest } from '../../../infra/local/kubernetes/builds.ts';
import { jobName, secretName } from '../../../shared/k8s/build-job.ts';
import { type Receiver, startReceiver } from '../../unit/notify/receiver.ts';
import { type Client, eventually } from '../client.ts';
import { IMAGE_REPOSITORY, type Scene, slackChannelAt, startScene } from '../delivery/scene.ts';
import { parseEventStream } from '../event-source.ts';

/**
 * Builds end to end through the HTTP API on the local cloud: the build machine runs a Job on the
 * simulated cluster (whose builder writes BuildKit-like lines, echoes REGISTRY_PASSWORD on purpose,
 * and fails commits starting `bad` or `dead`), collects its log, and records the digest.
 */
let scene: Scene;
let batch: BatchV1Api;
let core: CoreV1Api;
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const GIT_TOKEN = `ghp_${randomBytes(12).toString('hex')}`;
const base64 = (text: string) => Buffer.from(text).toString('base64');

/** A Slack-style chat channel: failed builds are announced there. */
let chat: Receiver;

beforeAll(async () => {
  chat = await startReceiver();
  scene = await startScene({ chat: slackChannelAt(chat.url) });
  const kc = new KubeConfig();
  kc.loadFromString(scene.cloud.services.kubernetes.kubeconfig);
  batch = kc.makeApiClient(BatchV1Api);
  core = kc.makeApiClient(CoreV1Api);
  // What an operator stores with `npm run secret` (ADR 18): the registry's login and a Git token.
  scene.cloud.services.putSecret(
    'slipway/builds/registry/registry.example.com',
    JSON.stringify({ username: 'ci-bot', password: PASSWORD }),
  );
  scene.cloud.services.putSecret('slipway/builds/git/github.com', GIT_TOKEN);
});
afterAll(async () => {
  await scene?.cloud.stop();
  await chat?.close();
});

const sha = (prefix = '') => (prefix + randomBytes(20).toString('hex')).slice(0, 40);
const requestBuild = (api: Client, commitSha: string, extra: Record<string, unknown> = {}) =>
  api.post('/api/v1/builds', { app_id: scene.app.id, commit: { sha: commitSha, ref: 'main' }, ...extra });

async function finished(api: Client, id: string) {
  return eventually(async () => {
    const reply = await api.get(`/api/v1/builds/${id}`);
    expect(reply.status).toBe(200);
    if (!['succeeded', 'failed', 'cancelled'].includes(reply.body.state))
      throw new Error(`build is ${reply.body.state}`);
    return reply.body;
  }, 20_000);
}

const textLog = async (api: Client, id: string) => (await api.get(`/api/v1/builds/${id}/logs`)).text;
const stream = (api: Client, id: string, headers: Record<string, string> = {}) =>
  api.get(`/api/v1/builds/${id}/logs`, { headers: { accept: 'text/event-stream', ...headers } });

/** The events of one whole event-stream answer. */
const events = (text: string) => parseEventStream(text, '').events;

/**
 * One EventSource connection cut after `bytes` of its answer (the socket closed by the client),
 * or read whole: what it dispatched, and the Last-Event-ID it would send next.
 */
async function connect(id: string, lastEventId: string, bytes = Number.POSITIVE_INFINITY) {
  const token = await scene.cloud.mintToken({ sub: 'dev-alice' });
  const controller = new AbortController();
  const response = await fetch(`${scene.cloud.url}/api/v1/builds/${id}/logs`, {
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'text/event-stream',
      ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
    },
    signal: controller.signal,
  });
  if (response.status === 204) return { status: 204, events: [], lastEventId };
  const received: Buffer[] = [];
  let length = 0;
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    received.push(Buffer.from(part.value));
    length += part.value.length;
    if (length >= bytes) {
      controller.abort();
      break;
    }
  }
  const text = Buffer.concat(received).subarray(0, Math.min(length, bytes)).toString('utf8');
  return { status: response.status, ...parseEventStream(text, lastEventId) };
}

describe('a build', () => {
  it('builds <repo>:<sha> on the build cluster, records the pushed digest, and keeps its log after the Job goes', async () => {
    const commit = sha();
    const reply = await requestBuild(scene.developer, commit, { build_args: { NODE_ENV: 'production' } });
    expect(reply.status).toBe(202);
    expect(reply.headers.get('location')).toBe(`/api/v1/builds/${reply.body.id}`);
    expect(reply.body).toMatchObject({
      state: 'queued',
      image: `${IMAGE_REPOSITORY}:${commit}`,
      commit: { sha: commit, ref: 'main' },
      cluster_id: scene.cluster.id,
      requested_by: 'dev-alice',
      logs_url: `/api/v1/builds/${reply.body.id}/logs`,
    });

    const build = await finished(scene.developer, reply.body.id);
    const image = `${IMAGE_REPOSITORY}:${commit}`;
    expect(build).toMatchObject({ state: 'succeeded', image, digest: simulatedBuildDigest(image, commit) });
    expect(build.log.bytes).toBeGreaterThan(500);

    const log = await textLog(scene.developer, build.id);
    expect(log).toContain(`[slipway] building ${commit} (main)`);
    expect(log).toContain('#8 [4/6] RUN npm ci');
    expect(log).toContain(`slipway.image.digest=${build.digest}`);
    expect(log.endsWith(`[slipway] pushed ${image}@${build.digest}\n`)).toBe(true);
    // Each line once: the collect steps overlap on the timestamp boundary and skip what they stored.
    expect(log.split('\n').filter((line) => line === '#8 [4/6] RUN npm ci')).toHaveLength(1);
    expect(Buffer.byteLength(log)).toBe(build.log.bytes);

    // The Job and its Secret are gone; the log is not.
    await expect(batch.readNamespacedJob({ name: jobName(build.id), namespace: 'slipway-builds' })).rejects.toThrow();
    await expect(
      core.readNamespacedSecret({ name: secretName(build.id), namespace: 'slipway-builds' }),
    ).rejects.toThrow();
    expect(await textLog(scene.approvers[0], build.id)).toBe(log);

    const list = await scene.developer.get(`/api/v1/builds?app_id=${scene.app.id}`);
    expect(list.body.items.map((b: { id: string }) => b.id)).toContain(build.id);
  });

  it('streams its log as Server-Sent Events ending with its final state, and resumes from Last-Event-ID', async () => {
    const commit = sha();
    const { body } = await requestBuild(scene.developer, commit);
    const build = await finished(scene.developer, body.id);
    const whole = await textLog(scene.developer, build.id);

    const first = await stream(scene.developer, build.id);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(first.text.startsWith('retry: ')).toBe(true);
    const all = events(first.text);
    const end = all.at(-1);
    expect(end).toMatchObject({ id: 'end', type: 'end' });
    expect(JSON.parse(end?.data ?? '')).toMatchObject({ build_id: build.id, state: 'succeeded', digest: build.digest });
    const chunks = all.slice(0, -1);
    expect(chunks.map((e) => e.data).join('')).toBe(whole);
    expect(Number(chunks.at(-1)?.id)).toBe(Buffer.byteLength(whole));

    // A client cut after the first chunk comes back with its id and gets exactly the rest.
    const cut = chunks[0]?.id as string;
    const rest = events((await stream(scene.developer, build.id, { 'last-event-id': cut })).text);
    expect(
      rest
        .slice(0, -1)
        .map((e) => e.data)
        .join(''),
    ).toBe(Buffer.from(whole).subarray(Number(cut)).toString());
    expect(rest.at(-1)?.type).toBe('end');

    // After the end, EventSource is told to stop reconnecting.
    expect((await stream(scene.developer, build.id, { 'last-event-id': 'end' })).status).toBe(204);
  });

  it('resumes a live stream over real connections cut at random bytes: no gap, no duplicate, one end', async () => {
    const { body } = await requestBuild(scene.developer, sha());
    let lastEventId = '';
    let received = '';
    let ends = 0;
    for (let connection = 0; connection < 200; connection++) {
      // The first few connections are cut anywhere in their answer, the rest read whole.
      const cut = connection < 6 ? 1 + Math.floor(Math.random() * 400) : undefined;
      const reply = await connect(body.id, lastEventId, cut);
      if (reply.status === 204) break;
      expect(reply.status).toBe(200);
      for (const event of reply.events) {
        if (event.type === 'end') ends++;
        else received += event.data;
      }
      lastEventId = reply.lastEventId;
    }
    expect(lastEventId).toBe('end');
    expect(ends).toBe(1);
    expect(received).toBe(await textLog(scene.developer, body.id));
  });

  it('never shows the secrets it was given, in text or in events (the simulated builder echoes the password)', async () => {
    const { body } = await requestBuild(scene.developer, sha());
    const build = await finished(scene.developer, body.id);
    const text = await textLog(scene.developer, build.id);
    expect(text).toContain('+ crane auth login registry.example.com -u ci-bot -p ***');
    const streamed = (await stream(scene.developer, build.id)).text;
    const partial = (await scene.developer.get(`/api/v1/builds/${build.id}/logs?since=40`)).text;
    for (const answer of [text, streamed, partial]) {
      for (const secret of [PASSWORD, GIT_TOKEN, base64(`ci-bot:${PASSWORD}`), base64(`x-access-token:${GIT_TOKEN}`)]) {
        expect(answer).not.toContain(secret);
      }
    }
  });

  it('that fails ends failed with the reason in its state and the last line of its log, and its Job goes', async () => {
    const { body } = await requestBuild(scene.developer, sha('bad'));
    const build = await finished(scene.developer, body.id);
    expect(build.state).toBe('failed');
    expect(build.reason).toMatch(/^the build exited with code 1: ERROR: failed to solve: process .* exit code: 1$/);
    expect(build).not.toHaveProperty('digest');
    const log = await textLog(scene.developer, build.id);
    expect(log).toContain('#8 ERROR: ');
    expect(log.endsWith(`[slipway] build failed: ${build.reason}\n`)).toBe(true);
    const end = events((await stream(scene.developer, build.id)).text).at(-1);
    expect(end?.type).toBe('end');
    expect(JSON.parse(end?.data ?? '')).toMatchObject({ state: 'failed', reason: build.reason });
    await expect(batch.readNamespacedJob({ name: jobName(build.id), namespace: 'slipway-builds' })).rejects.toThrow();
    // The chat channel hears of it, with a button to the log.
    const message = await eventually(async () => {
      const found = chat.requests.map((r) => JSON.stringify(r.json)).find((text) => text.includes(build.id));
      if (!found) throw new Error('no chat message about the build yet');
      return found;
    });
    expect(message).toContain('Build failed');
    expect(message).toContain(`${scene.cloud.url}/api/v1/builds/${build.id}/logs`);
  });

  it('of a commit the repository does not have fails, saying so', async () => {
    const { body } = await requestBuild(scene.developer, sha('dead'));
    const build = await finished(scene.developer, body.id);
    expect(build.state).toBe('failed');
    expect(build.reason).toContain('exited with code 128: fatal: reference is not a tree');
  });

  it('whose workflow is stopped (its pipeline run cancelled) ends cancelled, and its Job is deleted', async () => {
    // The simulated builder never finishes with a `:hang` builder image (SLIPWAY_BUILD_IMAGE is read per build).
    process.env.SLIPWAY_BUILD_IMAGE = 'moby/buildkit:hang';
    const { body } = await requestBuild(scene.developer, sha());
    await eventually(async () => {
      expect((await textLog(scene.developer, body.id)).includes('#11 pushing layers')).toBe(true);
    }).finally(() => {
      delete process.env.SLIPWAY_BUILD_IMAGE;
    });
    const sfn = new SFNClient({});
    const executionArn = `${scene.cloud.services.stateMachineArn('build').replace(':stateMachine:', ':execution:')}:${body.id}`;
    await sfn.send(new StopExecutionCommand({ executionArn, cause: 'run cancelled' }));
    const build = await finished(scene.developer, body.id);
    expect(build).toMatchObject({ state: 'cancelled', reason: 'the build was stopped: run cancelled' });
    await eventually(async () => {
      await expect(batch.readNamespacedJob({ name: jobName(build.id), namespace: 'slipway-builds' })).rejects.toThrow();
    });
    expect(
      (await textLog(scene.developer, build.id)).endsWith('[slipway] the build was stopped: run cancelled\n'),
    ).toBe(true);
  });
});

describe('cancelling a build', () => {
  it('ends it cancelled, saying by whom and why, and deletes its Job; a second cancel is 409', async () => {
    process.env.SLIPWAY_BUILD_IMAGE = 'moby/buildkit:hang';
    const { body } = await requestBuild(scene.developer, sha());
    await eventually(async () => {
      expect((await textLog(scene.developer, body.id)).includes('#11 pushing layers')).toBe(true);
    }).finally(() => {
      delete process.env.SLIPWAY_BUILD_IMAGE;
    });
    const reply = await scene.developer.post(`/api/v1/builds/${body.id}/cancel`, { reason: 'wrong branch' });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ state: 'cancelled', reason: 'cancelled by dev-alice: wrong branch' });
    await eventually(async () => {
      await expect(batch.readNamespacedJob({ name: jobName(body.id), namespace: 'slipway-builds' })).rejects.toThrow();
    });
    expect((await textLog(scene.developer, body.id)).endsWith('[slipway] cancelled by dev-alice: wrong branch\n')).toBe(
      true,
    );
    const again = await scene.developer.post(`/api/v1/builds/${body.id}/cancel`, {});
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('https://slipway.dev/problems/build-final');
    // A viewer may read it, not cancel it.
    expect((await scene.approvers[0].post(`/api/v1/builds/${body.id}/cancel`, {})).status).toBe(403);
  });
});

describe('refused', () => {
  it('a commit that is not 40 hex characters (400), creating nothing', async () => {
    for (const bad of ['abc123', 'A'.repeat(40), `${'a'.repeat(39)}g`, 'main']) {
      const reply = await requestBuild(scene.developer, bad);
      expect(reply.status).toBe(400);
      expect(reply.body.invalid_params).toEqual([expect.objectContaining({ name: 'commit.sha' })]);
    }
  });

  it('a garbage Last-Event-ID or since (400), one past the end of the log (400)', async () => {
    const { body } = await requestBuild(scene.developer, sha());
    const build = await finished(scene.developer, body.id);
    for (const garbage of ['abc', '-1', '1.5', '', '99999999999999999999']) {
      const reply = await stream(scene.developer, build.id, { 'last-event-id': garbage });
      expect(reply.status, garbage).toBe(400);
      expect(reply.headers.get('content-type')).toBe('application/problem+json');
    }
    expect((await scene.developer.get(`/api/v1/builds/${build.id}/logs?since=x`)).status).toBe(400);
    const past = await stream(scene.developer, build.id, { 'last-event-id': String(build.log.bytes + 1) });
    expect(past.status).toBe(400);
  });

  it('an unknown build (404), a malformed id (404), a caller who cannot see the app (404)', async () => {
    const unknown = 'bld_01jd7wz6xq3v9k2m4n5p6r7s8t';
    expect((await scene.developer.get(`/api/v1/builds/${unknown}`)).status).toBe(404);
    expect((await scene.developer.get(`/api/v1/builds/${unknown}/logs`)).status).toBe(404);
    expect((await scene.developer.get('/api/v1/builds/bld_..%2Fx/logs')).status).toBe(404);
    const { body } = await requestBuild(scene.developer, sha());
    const stranger = (await import('../client.ts')).client(
      scene.cloud.url,
      await scene.cloud.mintToken({ sub: 'stranger' }),
    );
    expect((await stranger.get(`/api/v1/builds/${body.id}`)).status).toBe(404);
    expect((await stranger.get(`/api/v1/builds/${body.id}/logs`)).status).toBe(404);
  });

  it('a build of an app with no build cluster, when the platform has no default (422)', async () => {
    const patched = await scene.admin.patch(
      `/api/v1/apps/${scene.app.id}`,
      { build_cluster_id: null },
      { 'if-match': (await scene.admin.get(`/api/v1/apps/${scene.app.id}`)).headers.get('etag') ?? '' },
    );
    expect(patched.status).toBe(200);
    try {
      const reply = await requestBuild(scene.developer, sha());
      expect(reply.status).toBe(422);
      expect(reply.body.type).toBe('https://slipway.dev/problems/no-build-cluster');
    } finally {
      await scene.admin.patch(
        `/api/v1/apps/${scene.app.id}`,
        { build_cluster_id: scene.cluster.id },
        { 'if-match': (await scene.admin.get(`/api/v1/apps/${scene.app.id}`)).headers.get('etag') ?? '' },
      );
    }
  });

  it('an app naming a cluster that is not registered (422)', async () => {
    const reply = await scene.admin.patch(
      `/api/v1/apps/${scene.app.id}`,
      { build_cluster_id: 'cls_01jd7wz6xq3v9k2m4n5p6r7s8t' },
      { 'if-match': (await scene.admin.get(`/api/v1/apps/${scene.app.id}`)).headers.get('etag') ?? '' },
    );
    expect(reply.status).toBe(422);
    expect(reply.body.type).toBe('https://slipway.dev/problems/unknown-cluster');
  });
});
