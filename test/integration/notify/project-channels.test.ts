/**
 * A project's own chat channels on the local cloud: created through the API (credentials into the
 * local Secrets Manager), fed by the notifier from the bus, filtered, tested, and never showing
 * their URL or secret in an answer, an event, the audit log or a log line.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver } from '../../unit/notify/receiver.ts';
import { type Client, eventually } from '../client.ts';
import { deploy, type Scene, startScene, statusWhen } from '../delivery/scene.ts';
import { type DeliveryWorld, deliveryWorld } from '../delivery/world.ts';
import { bodies } from '../seed.ts';

/** What must never leave Secrets Manager: the key part of each webhook URL, and a signing secret. */
const SLACK_KEY = 'T0AAA/B0BBB/slack-key-never-shown';
const FEISHU_KEY = 'feishu-hook-key-never-shown';
const FEISHU_SECRET = 'feishu-signing-secret-never-shown';
const NEVER_SHOWN = [SLACK_KEY, FEISHU_KEY, FEISHU_SECRET];

let scene: Scene;
let other: DeliveryWorld;
/** Every channel's receiver: the project's unfiltered channel, its filtered ones, and the other project's. */
let all: Receiver;
let prodSuccesses: Receiver;
let devFailures: Receiver;
let otherProject: Receiver;
let feishu: Receiver;
/** Every API answer's body, and every line written to stdout and stderr while the file runs. */
const answers: string[] = [];
const logged: string[] = [];
const writes = { out: process.stdout.write, err: process.stderr.write };

const channelsOf = (projectId: string) => `/api/v1/projects/${projectId}/channels`;

async function createChannel(api: Client, projectId: string, body: Record<string, unknown>) {
  const reply = await api.post(channelsOf(projectId), body);
  answers.push(reply.text);
  expect(reply.status, reply.text).toBe(201);
  return reply.body as { id: string; version: number };
}

/** Slack messages' fallback text, one per message the receiver got. */
const texts = (receiver: Receiver) => receiver.requests.map((r) => String((r.json as { text?: string })?.text ?? ''));

beforeAll(async () => {
  const capture = (stream: NodeJS.WriteStream, original: typeof process.stdout.write) =>
    ((chunk: unknown, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
    }) as typeof process.stdout.write;
  process.stdout.write = capture(process.stdout, writes.out);
  process.stderr.write = capture(process.stderr, writes.err);

  scene = await startScene();
  other = await deliveryWorld(scene.cloud);
  [all, prodSuccesses, devFailures, otherProject, feishu] = await Promise.all([
    startReceiver(),
    startReceiver(),
    startReceiver(),
    startReceiver(),
    startReceiver(),
  ]);
  const slack = (receiver: Receiver, filters: Record<string, unknown> = {}) => ({
    platform: 'slack',
    webhook_url: `${receiver.url}/services/${SLACK_KEY}`,
    filters,
  });
  await createChannel(scene.admin, scene.project.id, { ...slack(all), name: 'everything' });
  await createChannel(scene.admin, scene.project.id, slack(prodSuccesses, { environments: ['prod'] }));
  await createChannel(
    scene.admin,
    scene.project.id,
    slack(devFailures, { environments: ['dev'], outcomes: ['failed', 'rolled_back'] }),
  );
  await createChannel(scene.admin, other.project.id, slack(otherProject));
});

afterAll(async () => {
  process.stdout.write = writes.out;
  process.stderr.write = writes.err;
  await Promise.all([all, prodSuccesses, devFailures, otherProject, feishu].map((r) => r?.close()));
  await scene?.cloud.stop();
});

describe("a project's chat channels", () => {
  it("get their project's events, as their filters say, and not another project's", async () => {
    const good = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '1.0.0' });
    expect((await statusWhen(scene.developer, good.body.id)).state).toBe('succeeded');
    // Every channel of the event is sent to in the same invocation: once one has it, all have had their chance.
    await eventually(async () => expect(texts(all).join('\n')).toContain(`Deployed ${scene.app.name} to dev`));
    expect(texts(all).join('\n')).toContain(`Deploy queued: ${scene.app.name} to dev`);
    expect(prodSuccesses.requests).toHaveLength(0); // dev is not prod
    expect(devFailures.requests).toHaveLength(0); // a success is not a failure
    expect(otherProject.requests).toHaveLength(0); // another project's channel

    const bad = await deploy(scene.developer, scene.app.id, { env: 'dev', image: 'bad' });
    expect((await statusWhen(scene.developer, bad.body.id)).state).toBe('rolled_back');
    await eventually(async () => expect(texts(all).join('\n')).toContain(`Rolled back ${scene.app.name} in dev`));
    // Only the event with the outcome reaches the outcome filter: not the queued, started or rolling back ones.
    expect(texts(devFailures)).toEqual([expect.stringContaining(`Rolled back ${scene.app.name} in dev`)]);
    expect(otherProject.requests).toHaveLength(0);
    expect(prodSuccesses.requests).toHaveLength(0);
  });

  it('follow a change of their filters at the next event', async () => {
    const list = await scene.admin.get(`${channelsOf(other.project.id)}`);
    const [channel] = list.body.items as { id: string; version: number }[];
    const path = `${channelsOf(other.project.id)}/${channel?.id}`;
    const patched = await scene.admin.patch(
      path,
      { filters: { event_types: ['Deployment Succeeded'] } },
      { 'if-match': `"v${channel?.version}"` },
    );
    answers.push(patched.text);
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.filters).toEqual({ event_types: ['Deployment Succeeded'] });

    const good = await deploy(other.developer, other.app.id, { env: 'dev', image: '1.0.0' });
    expect((await statusWhen(other.developer, good.body.id)).state).toBe('succeeded');
    await eventually(async () => expect(otherProject.requests.length).toBeGreaterThan(0));
    expect(texts(otherProject)).toEqual([expect.stringContaining(`Deployed ${other.app.name} to dev`)]);
  });

  it("test: sends a test message and reports the platform's answer, a refusal included", async () => {
    const { items } = (await scene.admin.get(channelsOf(scene.project.id))).body as {
      items: { id: string; name?: string }[];
    };
    const everything = items.find((c) => c.name === 'everything');
    const test = () => scene.admin.post(`${channelsOf(scene.project.id)}/${everything?.id}/test`, {});

    const before = all.requests.length;
    const delivered = await test();
    answers.push(delivered.text);
    expect(delivered.status).toBe(200);
    expect(delivered.body).toEqual({ delivered: true });
    expect(texts(all).slice(before)).toEqual([expect.stringContaining('Slipway test message')]);

    all.answer = () => ({ status: 404, body: 'no_service' });
    try {
      const refused = await test();
      answers.push(refused.text);
      expect(refused.status).toBe(200);
      expect(refused.body).toMatchObject({ delivered: false, status: 404, code: 'no_service' });
      expect(refused.body.reason).toContain('404');
    } finally {
      all.answer = () => ({ body: 'ok' });
    }
  });

  it('test: a signed Feishu channel is signed with its secret, and Feishu’s own error code comes back', async () => {
    feishu.answer = () => ({ body: { code: 19021, msg: 'sign match fail or timestamp is not within one hour' } });
    const channel = await createChannel(scene.admin, scene.project.id, {
      platform: 'feishu',
      webhook_url: `${feishu.url}/open-apis/bot/v2/hook/${FEISHU_KEY}`,
      secret: FEISHU_SECRET,
      filters: { event_types: ['Approval Requested'] },
    });
    expect(channel).toMatchObject({ platform: 'feishu', host: '127.0.0.1', secret_set: true });

    const reply = await scene.admin.post(`${channelsOf(scene.project.id)}/${channel.id}/test`, {});
    answers.push(reply.text);
    expect(reply.body).toMatchObject({ delivered: false, code: '19021' });
    expect(reply.body.reason).toContain('sign match fail');
    const sent = feishu.requests.at(-1)?.json as { timestamp?: string; sign?: string };
    expect(sent.timestamp).toMatch(/^\d+$/);
    expect(sent.sign).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it('keep their credentials in Secrets Manager under the channel prefix, and delete them with the channel', async () => {
    const channel = await createChannel(scene.admin, scene.project.id, {
      platform: 'slack',
      webhook_url: `${all.url}/services/${SLACK_KEY}`,
    });
    const secrets = new SecretsManagerClient({});
    const stored = await secrets.send(new GetSecretValueCommand({ SecretId: `slipway/chat/channels/${channel.id}` }));
    expect(JSON.parse(stored.SecretString ?? '{}')).toEqual({ webhook_url: `${all.url}/services/${SLACK_KEY}` });

    const path = `${channelsOf(scene.project.id)}/${channel.id}`;
    const read = await scene.admin.get(path);
    answers.push(read.text);
    expect(read.body).toMatchObject({ host: '127.0.0.1', secret_set: false, filters: {} });
    const gone = await scene.admin.delete(path, { 'if-match': read.headers.get('etag') ?? '' });
    expect(gone.status).toBe(204);
    await expect(
      secrets.send(new GetSecretValueCommand({ SecretId: `slipway/chat/channels/${channel.id}` })),
    ).rejects.toThrow(/ResourceNotFound|can't find/i);
    expect((await scene.admin.get(path)).status).toBe(404);
  });

  it('take a new URL at once, and a refused change leaves the stored credentials as they were', async () => {
    const channel = await createChannel(scene.admin, scene.project.id, {
      platform: 'slack',
      webhook_url: `${otherProject.url}/services/${SLACK_KEY}`,
      filters: { event_types: ['Approval Requested'] },
    });
    const path = `${channelsOf(scene.project.id)}/${channel.id}`;
    const moved = await scene.admin.patch(
      path,
      { webhook_url: `${all.url}/services/${SLACK_KEY}` },
      { 'if-match': '"v1"' },
    );
    answers.push(moved.text);
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body).toMatchObject({ credentials_version: 2, version: 2 });

    const stale = await scene.admin.patch(path, { webhook_url: `${feishu.url}/elsewhere` }, { 'if-match': '"v1"' });
    expect(stale.status).toBe(412);
    const stored = await new SecretsManagerClient({}).send(
      new GetSecretValueCommand({ SecretId: `slipway/chat/channels/${channel.id}` }),
    );
    expect(JSON.parse(stored.SecretString ?? '{}')).toEqual({ webhook_url: `${all.url}/services/${SLACK_KEY}` });

    const before = { all: all.requests.length, other: otherProject.requests.length, feishu: feishu.requests.length };
    expect((await scene.admin.post(`${path}/test`, {})).body).toEqual({ delivered: true });
    expect(all.requests.length).toBe(before.all + 1);
    expect(otherProject.requests.length).toBe(before.other);
    expect(feishu.requests.length).toBe(before.feishu);
  });

  it('keep their project from being deleted until they are gone', async () => {
    const project = (await scene.admin.post('/api/v1/projects', bodies.project())).body as { id: string };
    const channel = await createChannel(scene.admin, project.id, {
      platform: 'slack',
      webhook_url: `${all.url}/services/${SLACK_KEY}`,
    });
    const etagOf = async (path: string) => ({ 'if-match': (await scene.admin.get(path)).headers.get('etag') ?? '' });
    const path = `/api/v1/projects/${project.id}`;
    const refused = await scene.admin.delete(path, await etagOf(path));
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain('chat channels');

    const channelPath = `${channelsOf(project.id)}/${channel.id}`;
    expect((await scene.admin.delete(channelPath, await etagOf(channelPath))).status).toBe(204);
    expect((await scene.admin.delete(path, await etagOf(path))).status).toBe(204);
  });

  it('never show their URL key or secret: not in an answer, an event, the audit log or a log line', async () => {
    for (const projectId of [scene.project.id, other.project.id]) {
      const list = await scene.admin.get(`${channelsOf(projectId)}?limit=100`);
      answers.push(list.text);
      const audit = await eventually(async () => {
        const reply = await scene.admin.get(`/api/v1/audit?project_id=${projectId}&limit=100`);
        expect(reply.text).toContain('Channel Created');
        return reply;
      });
      answers.push(audit.text);
    }
    expect(answers.join('\n')).toContain('Channel Updated');
    for (const secret of NEVER_SHOWN) {
      expect(answers.join('\n')).not.toContain(secret);
      expect(logged.join('')).not.toContain(secret);
    }
  });
});
