import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalAction,
  localTenant,
  readChatApps,
  replyText,
  type SignedRequest,
  send,
  signedCallback,
} from '../../../infra/local/chat-apps.ts';
import type { ChatApps } from '../../../shared/chat/apps.ts';
import { createLinkCode } from '../../../shared/chat/links.ts';
import { encryptWeCom, wecomSignature } from '../../../shared/chat/verify/wecom.ts';
import type { ChatKind } from '../../../shared/notify/channels.ts';
import type { Client } from '../client.ts';
import { deploy, type Scene, startScene, statusWhen } from '../delivery/scene.ts';

/**
 * Approvals from chat on the local cloud, per platform: callbacks signed as each platform signs
 * them (infra/local/chat-apps.ts, what `npm run chat` sends) reach the public chat function, which
 * verifies them, finds the linked Slipway user and decides through the API's own path.
 */
const PLATFORMS: ChatKind[] = ['slack', 'feishu', 'dingtalk', 'wecom'];
let scene: Scene;
let apps: ChatApps;

beforeAll(async () => {
  scene = await startScene();
  apps = await readChatApps();
});
afterAll(() => scene?.cloud.stop());

const call = (request: SignedRequest) => send(scene.cloud.url, request);

async function chat(platform: ChatKind, user: string, action: LocalAction | SignedRequest) {
  const request = 'kind' in action ? signedCallback(apps, platform, { user, action }) : action;
  const reply = await call(request);
  expect(reply.status, reply.text).toBe(200);
  return replyText(apps, platform, reply.text);
}

async function link(platform: ChatKind, api: Client, user: string) {
  const code = await api.post('/api/v1/users/me/chat-links', {});
  expect(code.status).toBe(200);
  expect(await chat(platform, user, { kind: 'command', text: `link ${code.body.code}` })).toMatch(/^Linked/);
}

async function waitingForApproval() {
  const reply = await deploy(scene.developer, scene.app.id, { env: 'prod', image: `2.${Date.now() % 100000}.0` });
  expect(reply.status).toBe(202);
  const status = await statusWhen(scene.developer, reply.body.id, (s) => s.state === 'waiting_for_approval');
  return { deploymentId: reply.body.id as string, approvalId: status.approval.id as string };
}

const approval = async (id: string) => (await scene.approvers[0].get(`/api/v1/approvals/${id}`)).body;
/** Frees prod for the next test: an approval left pending holds its lock. */
const rejectViaApi = (id: string) => scene.approvers[1].post(`/api/v1/approvals/${id}/reject`, { comment: 'cleanup' });

describe.each(PLATFORMS)('approving from %s', (platform) => {
  const bob = `bob-${platform}`;
  beforeAll(() => link(platform, scene.approvers[0], bob));

  it('a linked approver’s signed callback resumes the workflow; the vote names the platform; a retry never votes again', async () => {
    const { deploymentId, approvalId } = await waitingForApproval();
    // A platform's retry sends the very same signed request again.
    const delivery = signedCallback(apps, platform, {
      user: bob,
      action: { kind: 'decide', approvalId, decision: 'approve' },
    });
    const first = await chat(platform, bob, delivery);
    expect(first).toMatch(/You approved .* approved \(1\/1\)/);
    const done = await statusWhen(scene.developer, deploymentId);
    expect(done.state).toBe('succeeded');
    // The deployment's own status says where the decision came from.
    expect((done.approval as { votes: unknown[] }).votes).toEqual([
      expect.objectContaining({ by: 'rm-bob', decision: 'approve', via: platform }),
    ]);
    // The platform retries the same delivery: the same answer, still one vote.
    const retry =
      platform === 'slack' ? { ...delivery, headers: { ...delivery.headers, 'x-slack-retry-num': '1' } } : delivery;
    expect(await chat(platform, bob, retry)).toBe(first);
    const after = await approval(approvalId);
    expect(after.votes).toEqual([expect.objectContaining({ by: 'rm-bob', decision: 'approve', via: platform })]);
    // A second click (a new delivery) is refused by decide itself: the approval is closed. WeCom names
    // an event by its sender and CreateTime (seconds): a click in the same second is its retry.
    const again = await chat(platform, bob, { kind: 'decide', approvalId, decision: 'approve' });
    expect(again).toMatch(platform === 'wecom' && again === first ? /You approved/ : /already approved/);
    expect((await approval(approvalId)).votes).toHaveLength(1);
  });

  it('refuses bad signatures, stale timestamps and undecryptable bodies with 401, deciding nothing', async () => {
    const { approvalId } = await waitingForApproval();
    const action: LocalAction = { kind: 'decide', approvalId, decision: 'approve' };
    const good = signedCallback(apps, platform, { user: bob, action });
    const stale = signedCallback(apps, platform, { user: bob, action, nowMs: Date.now() - 2 * 60 * 60 * 1000 });
    const forged = signedCallback(foreignApps(), platform, { user: bob, action });
    const tampered = mutate(good, SIGNED[platform][0] as Part, 17, 5);
    for (const request of [
      stale,
      forged,
      tampered,
      { ...good, headers: {}, path: good.path.split('?')[0] as string },
    ]) {
      const reply = await call(request);
      expect(reply.status, reply.text).toBe(401);
      expect(JSON.parse(reply.text)).toMatchObject({ type: 'https://slipway.dev/problems/unauthorized', status: 401 });
    }
    expect((await approval(approvalId)).votes).toEqual([]);
    await rejectViaApi(approvalId);
  });
});

/** Credentials of the same shape that are not the platform's: what a forger would sign with. */
function foreignApps(): ChatApps {
  const wecom = apps.wecom as NonNullable<ChatApps['wecom']>;
  return {
    slack: { signing_secret: 'not-the-secret' },
    feishu: { ...(apps.feishu as NonNullable<ChatApps['feishu']>), encrypt_key: 'another-encrypt-key' },
    dingtalk: { app_key: 'x', app_secret: 'not-the-secret' },
    wecom: { ...wecom, encoding_aes_key: 'A'.repeat(43) },
  };
}

describe('who may decide from chat', () => {
  it('tells an unlinked chat user how to link, and decides nothing', async () => {
    const { approvalId } = await waitingForApproval();
    for (const platform of PLATFORMS) {
      const text = await chat(platform, 'stranger', { kind: 'decide', approvalId, decision: 'approve' });
      expect(text).toMatch(/not linked.*chat-links.*Nothing was decided/);
    }
    expect((await approval(approvalId)).votes).toEqual([]);
    await rejectViaApi(approvalId);
  });

  it('refuses self-approval and non-approvers privately, as the API does', async () => {
    await link('slack', scene.developer, 'alice-slack');
    await link('wecom', scene.admin, 'root-wecom');
    const { approvalId } = await waitingForApproval();
    expect(await chat('slack', 'alice-slack', { kind: 'decide', approvalId, decision: 'approve' })).toMatch(
      /Only members of the approver teams/,
    );
    expect(await chat('wecom', 'root-wecom', { kind: 'decide', approvalId, decision: 'approve' })).toMatch(
      /Only members of the approver teams/,
    );
    expect((await approval(approvalId)).votes).toEqual([]);
    await rejectViaApi(approvalId);
  });

  it('refuses the requester even in the approver team (prevent_self_approval)', async () => {
    await scene.admin.put(`/api/v1/teams/${scene.team.id}/members/dev-alice`, undefined);
    try {
      const { approvalId } = await waitingForApproval();
      expect(await chat('slack', 'alice-slack', { kind: 'decide', approvalId, decision: 'approve' })).toMatch(
        /forbids approving your own deployment/,
      );
      expect((await approval(approvalId)).votes).toEqual([]);
      await rejectViaApi(approvalId);
    } finally {
      await scene.admin.delete(`/api/v1/teams/${scene.team.id}/members/dev-alice`);
    }
  });

  it('reaches a quorum of two across chat and the API', async () => {
    await link('feishu', scene.approvers[1], 'carol-feishu');
    const env = `/api/v1/apps/${scene.app.id}/envs/prod`;
    const etag = (await scene.admin.get(env)).headers.get('etag') ?? '';
    const protection = { requires_approval: true, approver_teams: [scene.team.id], prevent_self_approval: true };
    await scene.admin.patch(
      env,
      { protection: { ...protection, minimum_approvals: 2, approval_timeout_minutes: 60 } },
      { 'if-match': etag },
    );
    try {
      const { deploymentId, approvalId } = await waitingForApproval();
      expect(await chat('feishu', 'carol-feishu', { kind: 'decide', approvalId, decision: 'approve' })).toMatch(
        /pending \(1\/2\)/,
      );
      expect((await scene.developer.get(`/api/v1/deployments/${deploymentId}`)).body.state).toBe(
        'waiting_for_approval',
      );
      const second = await scene.approvers[0].post(`/api/v1/approvals/${approvalId}/approve`, {});
      expect(second.body).toMatchObject({ state: 'approved' });
      expect(second.body.votes.map((v: { by: string; via?: string }) => [v.by, v.via])).toEqual([
        ['rm-carol', 'feishu'],
        ['rm-bob', undefined],
      ]);
      expect((await statusWhen(scene.developer, deploymentId)).state).toBe('succeeded');
    } finally {
      const now = (await scene.admin.get(env)).headers.get('etag') ?? '';
      await scene.admin.patch(
        env,
        { protection: { ...protection, minimum_approvals: 1, approval_timeout_minutes: 60 } },
        { 'if-match': now },
      );
    }
  });

  it('rejects from chat with the comment as the reason', async () => {
    const { deploymentId, approvalId } = await waitingForApproval();
    const text = await chat('feishu', 'carol-feishu', {
      kind: 'decide',
      approvalId,
      decision: 'reject',
      comment: 'freeze',
    });
    expect(text).toMatch(/You rejected/);
    const done = await statusWhen(scene.developer, deploymentId);
    expect(done).toMatchObject({ state: 'rejected' });
    expect(done.reason).toMatch(/freeze/);
  });

  it('counts one vote when a platform delivers the same callback three times at once', async () => {
    const { deploymentId, approvalId } = await waitingForApproval();
    const request = signedCallback(apps, 'wecom', {
      user: 'bob-wecom',
      action: { kind: 'decide', approvalId, decision: 'approve' },
    });
    const replies = await Promise.all([call(request), call(request), call(request)]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await statusWhen(scene.developer, deploymentId)).state).toBe('succeeded');
    expect((await approval(approvalId)).votes).toHaveLength(1);
  });

  it('tells the clicker about an unknown approval', async () => {
    expect(
      await chat('slack', 'bob-slack', {
        kind: 'decide',
        approvalId: 'apr_00000000000000000000000000',
        decision: 'approve',
      }),
    ).toMatch(/does not exist/);
  });
});

/** The signed parts of each platform's request: changing any character of one must be refused. */
interface Part {
  get(request: SignedRequest): string;
  set(request: SignedRequest, value: string): SignedRequest;
}
const header = (name: string): Part => ({
  get: (r) => r.headers[name] ?? '',
  set: (r, value) => ({ ...r, headers: { ...r.headers, [name]: value } }),
});
const query = (name: string): Part => ({
  get: (r) => new URLSearchParams(r.path.split('?')[1]).get(name) ?? '',
  set: (r, value) => {
    const [path, search] = r.path.split('?');
    const params = new URLSearchParams(search);
    params.set(name, value);
    return { ...r, path: `${path}?${params}` };
  },
});
const body: Part = { get: (r) => r.body ?? '', set: (r, value) => ({ ...r, body: value }) };
const encrypted: Part = {
  get: (r) => /<Encrypt><!\[CDATA\[(.*?)\]\]><\/Encrypt>/.exec(r.body ?? '')?.[1] ?? '',
  set: (r, value) => ({ ...r, body: (r.body ?? '').replace(encrypted.get(r), value) }),
};
// DingTalk's HTTP callback signature covers the timestamp only, not the body (ADR 30).
const SIGNED: Record<ChatKind, Part[]> = {
  slack: [body, header('x-slack-signature'), header('x-slack-request-timestamp')],
  feishu: [body, header('x-lark-signature'), header('x-lark-request-timestamp'), header('x-lark-request-nonce')],
  dingtalk: [header('sign'), header('timestamp')],
  wecom: [encrypted, query('msg_signature'), query('timestamp'), query('nonce')],
};

/** The request with one character of one signed part changed. */
function mutate(request: SignedRequest, part: Part, at: number, by: number): SignedRequest {
  const text = part.get(request);
  const i = at % text.length;
  const c = String.fromCharCode(((text.charCodeAt(i) - 32 + (by % 94) + 1) % 95) + 32);
  return part.set(request, text.slice(0, i) + c + text.slice(i + 1));
}

describe('forged and mutated callbacks (property)', () => {
  it('none is accepted, and none decides anything, though each comes from a linked approver', async () => {
    const { approvalId } = await waitingForApproval();
    const action: LocalAction = { kind: 'decide', approvalId, decision: 'approve' };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PLATFORMS), fc.nat(), fc.nat(), fc.nat(), async (platform, which, at, by) => {
        const request = signedCallback(apps, platform, { user: `bob-${platform}`, action });
        const part = SIGNED[platform][which % SIGNED[platform].length] as Part;
        const reply = await call(mutate(request, part, at, by));
        expect(reply.status, `${platform}: ${reply.text}`).toBe(401);
      }),
      { numRuns: 60 },
    );
    expect((await approval(approvalId)).votes).toEqual([]);
    await rejectViaApi(approvalId);
  });
});

describe('identity links', () => {
  it('a code works once, from one chat identity; GET lists links; DELETE removes them; admins remove anyone’s', async () => {
    const carol = scene.approvers[1];
    await link('wecom', carol, 'carol-wecom');
    const code = (await carol.post('/api/v1/users/me/chat-links', {})).body;
    expect(code).toMatchObject({ code: expect.stringMatching(/^[0-9A-Z]{10}$/), expires_at: expect.any(String) });
    expect(Date.parse(code.expires_at) - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(await chat('dingtalk', 'carol-ding', { kind: 'command', text: `link ${code.code}` })).toMatch(/as rm-carol/);
    expect(await chat('dingtalk', 'mallory', { kind: 'command', text: `link ${code.code}` })).toMatch(
      /wrong, expired or already used/,
    );
    expect(await chat('dingtalk', 'mallory', { kind: 'command', text: 'link NOTACODE00' })).toMatch(/wrong, expired/);

    const links = (await carol.get('/api/v1/users/me/chat-links')).body.items;
    const ding = links.find((l: { platform: string }) => l.platform === 'dingtalk');
    expect(ding).toMatchObject({
      platform: 'dingtalk',
      tenant: localTenant(apps, 'dingtalk'),
      user: 'carol-ding',
      sub: 'rm-carol',
    });
    // Someone else's link is not theirs to remove; a platform admin may.
    expect((await scene.developer.delete(`/api/v1/users/rm-carol/chat-links/${ding.id}`)).status).toBe(403);
    expect((await scene.developer.delete(`/api/v1/users/me/chat-links/${ding.id}`)).status).toBe(404);
    expect((await scene.admin.delete(`/api/v1/users/rm-carol/chat-links/${ding.id}`)).status).toBe(204);
    expect(await chat('dingtalk', 'carol-ding', { kind: 'command', text: 'status x y' })).toMatch(/not linked/);

    const wecom = links.find((l: { platform: string }) => l.platform === 'wecom');
    expect((await carol.delete(`/api/v1/users/me/chat-links/${wecom.id}`)).status).toBe(204);
    expect((await carol.delete(`/api/v1/users/me/chat-links/${wecom.id}`)).status).toBe(404);
    expect(await chat('wecom', 'carol-wecom', { kind: 'command', text: 'status x y' })).toMatch(/not linked/);
  });

  it('an expired code is refused', async () => {
    const caller = { sub: 'rm-carol', name: 'rm-carol', email: undefined, groups: [] };
    const { code } = await createLinkCode(caller, Date.now() - 11 * 60_000);
    expect(await chat('slack', 'carol-slack', { kind: 'command', text: `link ${code}` })).toMatch(/expired/);
    expect((await scene.approvers[1].get('/api/v1/users/me/chat-links')).body.items).not.toContainEqual(
      expect.objectContaining({ user: 'carol-slack' }),
    );
  });
});

describe('slash commands and URL verification', () => {
  it('/slipway status tells what runs in an environment and what waits', async () => {
    const text = await chat('slack', 'bob-slack', { kind: 'command', text: `status ${scene.app.id} prod` });
    expect(text).toMatch(/prod runs .*2\.\d+\.0/);
    expect(text).toMatch(/Nothing queued/);
    expect(await chat('slack', 'bob-slack', { kind: 'command', text: 'dance' })).toMatch(/Slipway commands/);
  });

  it('/slipway approve is the keyboard path to the same decision', async () => {
    const { deploymentId, approvalId } = await waitingForApproval();
    expect(await chat('wecom', 'bob-wecom', { kind: 'command', text: `approve ${approvalId} lgtm` })).toMatch(
      /You approved/,
    );
    expect((await statusWhen(scene.developer, deploymentId)).state).toBe('succeeded');
    expect((await approval(approvalId)).votes[0]).toMatchObject({ comment: 'lgtm', via: 'wecom' });
  });

  it("answers WeCom's URL verification with the decrypted echostr, and Feishu's challenge", async () => {
    const wecom = apps.wecom as NonNullable<ChatApps['wecom']>;
    const echostr = encryptWeCom(wecom.encoding_aes_key, '1616140317555161061', wecom.corp_id);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const query = new URLSearchParams({
      msg_signature: wecomSignature(wecom.token, timestamp, '42', echostr),
      timestamp,
      nonce: '42',
      echostr,
    });
    const verified = await call({ method: 'GET', path: `/api/v1/chat/wecom/events?${query}`, headers: {} });
    expect(verified).toEqual({ status: 200, text: '1616140317555161061' });
    query.set('msg_signature', '0'.repeat(40));
    expect((await call({ method: 'GET', path: `/api/v1/chat/wecom/events?${query}`, headers: {} })).status).toBe(401);

    const feishu = apps.feishu as NonNullable<ChatApps['feishu']>;
    const { encryptFeishu } = await import('../../../shared/chat/verify/feishu.ts');
    const challenge = JSON.stringify({
      encrypt: encryptFeishu(
        feishu.encrypt_key ?? '',
        JSON.stringify({ type: 'url_verification', challenge: 'c-123', token: feishu.verification_token }),
      ),
    });
    const answer = await call({
      method: 'POST',
      path: '/api/v1/chat/feishu/events',
      headers: { 'content-type': 'application/json' },
      body: challenge,
    });
    expect(answer).toEqual({ status: 200, text: '{"challenge":"c-123"}' });
  });
});
