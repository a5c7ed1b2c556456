/**
 * Approval cards end to end on the local cloud (ADR 31): a deployment waits, each platform's bot
 * posts a card with Approve/Reject; every approval event replaces it (WeCom: follows it up), and a
 * platform error is ridden out by the bus's retry. The platforms are the local chat receiver.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  botChannels,
  type ChatReceiver,
  type PostedMessage,
  startChatReceiver,
} from '../../../infra/local/chat-receiver.ts';
import { LOCAL_STAGE, workflowName } from '../../../infra/manifest.ts';
import type { BusEvent } from '../../../shared/events/envelope.ts';
import type { ChatKind } from '../../../shared/notify/channels.ts';
import { eventually } from '../client.ts';
import { deploy, quickDelivery, type Scene, startScene, statusWhen } from '../delivery/scene.ts';

let receiver: ChatReceiver;
let scene: Scene;
const printed: string[] = [];
const PLATFORMS: ChatKind[] = ['slack', 'feishu', 'dingtalk', 'wecom'];

beforeAll(async () => {
  receiver = await startChatReceiver((line) => printed.push(line));
  const r = receiver.url;
  scene = await startScene({
    chat: {
      channels: [
        ...botChannels(receiver),
        // Webhook only: keeps today's plain message.
        { kind: 'dingtalk', url: `${r}/dingtalk/robot/send?access_token=plain`, events: ['Approval Requested'] },
      ],
      allowed_hosts: ['127.0.0.1'],
      allow_private: ['127.0.0.1'],
    },
    chatApps: { ...receiver.apps },
  });
});
afterAll(async () => {
  await scene?.cloud.stop();
  await receiver?.close();
});

let release = 0;
/** Deployments a test started; whatever one leaves waiting is cancelled so the next finds the environment free. */
const started: string[] = [];
afterEach(async () => {
  for (const id of started.splice(0)) await scene.developer.post(`/api/v1/deployments/${id}/cancel`, {});
});

async function waitingForApproval() {
  const reply = await deploy(scene.developer, scene.app.id, { env: 'prod', image: `2.${++release}.0` });
  expect(reply.status).toBe(202);
  started.push(reply.body.id);
  const status = await statusWhen(scene.developer, reply.body.id, (s) => s.state === 'waiting_for_approval');
  return { deploymentId: reply.body.id as string, approvalId: status.approval.id as string };
}

/** Each platform's card for the approval, once every platform has one. */
function cardsOf(approvalId: string): Promise<Record<ChatKind, PostedMessage>> {
  return eventually(async () => {
    const cards = PLATFORMS.map((platform) =>
      [...receiver.messages.values()].find(
        (m) => m.platform === platform && JSON.stringify(m.versions[0]).includes(approvalId),
      ),
    );
    expect(cards.every(Boolean)).toBe(true);
    return Object.fromEntries(PLATFORMS.map((p, i) => [p, cards[i]])) as Record<ChatKind, PostedMessage>;
  });
}

const latest = (message: PostedMessage) => JSON.stringify(message.versions.at(-1));

/** WeCom's follow-ups (its cards cannot be replaced without a click's response_code). */
const weComFollowUps = (approvalId: string) =>
  receiver.received.filter(
    (call) =>
      call.platform === 'wecom' &&
      call.kind === 'update' &&
      !call.refused &&
      JSON.stringify(call.body).includes(approvalId),
  );

/** Every platform shows `state` (and WeCom has followed up with it); in-place cards have no buttons left. */
async function finalEverywhere(approvalId: string, state: RegExp) {
  const cards = await cardsOf(approvalId);
  await eventually(async () => {
    for (const platform of ['slack', 'feishu', 'dingtalk'] as const) {
      expect(latest(cards[platform])).toMatch(state);
      expect(latest(cards[platform])).not.toMatch(/"(approve|reject)"/);
    }
    expect(
      weComFollowUps(approvalId)
        .map((call) => JSON.stringify(call.body))
        .join(),
    ).toMatch(state);
  }, 15_000);
  return cards;
}

/** An `Approval Requested` as the bus delivers it, with an id of its own. */
function requestEvent(approvalId: string, deploymentId: string): BusEvent {
  return {
    version: '0',
    id: `eb-${approvalId}-again`,
    'detail-type': 'Approval Requested',
    source: 'slipway.approvals',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: {
      id: `01REDELIVERED${Date.now()}`,
      time: new Date().toISOString(),
      actor: 'dev-alice',
      subject: `approval/${approvalId}`,
      project_id: scene.project.id,
      data: { approval_id: approvalId, deployment_id: deploymentId, app_name: scene.app.name, env: 'prod' },
    },
  };
}

describe('approval cards', () => {
  it('a waiting deployment gets a card with buttons on each bot; an API approval turns them final', async () => {
    const { deploymentId, approvalId } = await waitingForApproval();
    const cards = await cardsOf(approvalId);

    const slack = cards.slack.versions[0] as { blocks: { type: string; block_id?: string; elements?: unknown[] }[] };
    expect(cards.slack.conversation).toBe('C0APPROVALS');
    expect(slack.blocks.find((b) => b.type === 'actions' && b.block_id === `approval:${approvalId}`)?.elements).toEqual(
      [
        expect.objectContaining({ action_id: 'approve', value: approvalId }),
        expect.objectContaining({ action_id: 'reject', value: approvalId }),
      ],
    );
    expect(slack.blocks.some((b) => b.type === 'input' && b.block_id === 'comment')).toBe(true);
    expect(JSON.stringify(slack)).toMatch(/dev-alice asks to deploy `[^`]+:2\.\d+\.0` on prod/);
    expect(JSON.stringify(slack)).toContain('Approvals: 0 of 1');

    const feishu = JSON.stringify(cards.feishu.versions[0]);
    expect(feishu).toContain(`"value":{"action":"approve","approval_id":"${approvalId}"}`);
    expect(feishu).toContain('"update_multi":true');
    expect(JSON.stringify(cards.dingtalk.versions[0])).toContain(
      `"params":{"action":"reject","approval_id":"${approvalId}"}`,
    );
    const wecom = cards.wecom.versions[0] as { touser: string; template_card: { button_list: { key: string }[] } };
    expect(wecom.touser).toBe('rm-bob|rm-carol');
    expect(wecom.template_card.button_list.map((b) => b.key)).toEqual([
      `approve:${approvalId}`,
      `reject:${approvalId}`,
    ]);

    // The bot channels get no plain line for it; the webhook-only channel does.
    const plain = receiver.received.filter((c) => c.kind === 'webhook' && JSON.stringify(c.body).includes(approvalId));
    expect(plain.map((c) => c.platform)).toEqual(['dingtalk']);
    const slackLines = receiver.received.filter(
      (c) => c.platform === 'slack' && c.kind === 'webhook' && JSON.stringify(c.body).includes(deploymentId),
    );
    expect(slackLines.map((c) => (c.body as { text: string }).text).join('\n')).not.toMatch(
      /Waiting for approval|Approval needed/,
    );
    expect(printed.some((line) => line.startsWith('chat ▸ slack post C0APPROVALS/'))).toBe(true);

    const approved = await scene.approvers[0].post(`/api/v1/approvals/${approvalId}/approve`, { comment: 'ship it' });
    expect(approved.status).toBe(200);
    await finalEverywhere(approvalId, /Approved by rm-bob via the API at .*ship it/);
    expect((await statusWhen(scene.developer, deploymentId)).state).toBe('succeeded');
    // Replaced, not reposted: one card per platform for the approval.
    expect(
      [...receiver.messages.values()].filter((m) => JSON.stringify(m.versions[0]).includes(approvalId)),
    ).toHaveLength(4);
  });

  it('shows the diff from the release running there now', async () => {
    const { deploymentId, approvalId } = await waitingForApproval();
    const cards = await cardsOf(approvalId);
    expect(JSON.stringify(cards.slack.versions[0])).toMatch(/Image: `[^`]+:2\.\d+\.0` → `[^`]+:2\.\d+\.0`/);
    expect(JSON.stringify(cards.slack.versions[0])).toMatch(/Replicas: \d+ \(unchanged\)/);
    await scene.developer.post(`/api/v1/deployments/${deploymentId}/cancel`, { reason: 'wrong tag' });
    await finalEverywhere(approvalId, /Cancelled by dev-alice at .*wrong tag/);
  });

  it('a platform error on the update is retried by the bus and the final state still arrives', async () => {
    const { deploymentId, approvalId } = await waitingForApproval();
    await cardsOf(approvalId);
    for (const platform of PLATFORMS) receiver.failNext(platform, 2);
    const rejected = await scene.approvers[1].post(`/api/v1/approvals/${approvalId}/reject`, { comment: 'not today' });
    expect(rejected.status).toBe(200);
    await finalEverywhere(approvalId, /Rejected by rm-carol via the API at .*not today/);
    const refused = receiver.received.filter((c) => c.refused && JSON.stringify(c.body).includes(approvalId));
    expect(new Set(refused.map((c) => c.platform))).toEqual(new Set(PLATFORMS));
    expect((await statusWhen(scene.developer, deploymentId)).state).toBe('rejected');
  });

  it('a vote short of the quorum shows on the card with the buttons kept; a redelivered request posts nothing new', async () => {
    const env = `/api/v1/apps/${scene.app.id}/envs/prod`;
    const etag = (await scene.admin.get(env)).headers.get('etag') ?? '';
    const protection = { requires_approval: true, approver_teams: [scene.team.id], minimum_approvals: 2 };
    expect((await scene.admin.patch(env, { protection }, { 'if-match': etag })).status).toBe(200);
    const { deploymentId, approvalId } = await waitingForApproval();
    const cards = await cardsOf(approvalId);

    await scene.approvers[0].post(`/api/v1/approvals/${approvalId}/approve`, {});
    await eventually(async () => {
      expect(latest(cards.slack)).toContain('Approvals: 1 of 2');
      expect(latest(cards.slack)).toMatch(/Approved by rm-bob via the API/);
      expect(latest(cards.slack)).toContain('"action_id":"approve"');
    });

    // The bus delivering the request again, to another container: the channel already shows it.
    const { handler } = await import('../../../functions/notifier/handler.ts');
    const posts = receiver.received.filter((c) => c.kind === 'post').length;
    await handler(requestEvent(approvalId, deploymentId));
    expect(receiver.received.filter((c) => c.kind === 'post')).toHaveLength(posts);

    await scene.approvers[1].post(`/api/v1/approvals/${approvalId}/approve`, {});
    await finalEverywhere(approvalId, /Approvals: 2 of 2/);
    expect((await statusWhen(scene.developer, deploymentId)).state).toBe('succeeded');
  });

  it('expiry turns the card final too', async () => {
    scene.cloud.services.stepFunctions.setOverrides(workflowName(LOCAL_STAGE, 'deploy'), {
      ...quickDelivery.workflowOverrides?.deploy,
      // Long enough for the cards to be posted first.
      taskTimeoutOverrides: { WaitForApproval: 3 },
    });
    const { deploymentId, approvalId } = await waitingForApproval();
    expect((await statusWhen(scene.developer, deploymentId)).state).toBe('expired');
    await finalEverywhere(approvalId, /Expired at /);
  });
});
