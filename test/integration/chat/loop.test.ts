/**
 * The whole ChatOps loop on one local cloud, per platform (issue 13, ADR 30 and 31): a deployment
 * waits for approval, the bot posts a card with Approve/Reject, a linked approver presses Approve
 * (the callback carries the button's value as the card was posted, signed as the platform signs),
 * the workflow resumes and the card shows the decision without buttons (WeCom: a follow-up).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalAction,
  type Press,
  readChatApps,
  replyText,
  send,
  signedCallback,
} from '../../../infra/local/chat-apps.ts';
import {
  botChannels,
  type ChatReceiver,
  type PostedMessage,
  startChatReceiver,
} from '../../../infra/local/chat-receiver.ts';
import type { ChatApps } from '../../../shared/chat/apps.ts';
import type { ChatKind } from '../../../shared/notify/channels.ts';
import { type Client, eventually } from '../client.ts';
import { deploy, type Scene, startScene, statusWhen } from '../delivery/scene.ts';

const PLATFORMS: ChatKind[] = ['slack', 'feishu', 'dingtalk', 'wecom'];
const NAME: Record<ChatKind, string> = { slack: 'Slack', feishu: 'Feishu', dingtalk: 'DingTalk', wecom: 'WeCom' };
/** Cards with a comment input (ADR 31): what is typed there comes with the click. */
const TYPED = new Set<ChatKind>(['slack', 'feishu']);

let receiver: ChatReceiver;
let scene: Scene;
let apps: ChatApps;

beforeAll(async () => {
  receiver = await startChatReceiver(() => {});
  scene = await startScene({
    chat: {
      channels: [...botChannels(receiver)],
      allowed_hosts: ['127.0.0.1'],
      allow_private: ['127.0.0.1'],
    },
    chatApps: { ...receiver.apps },
  });
  // What the chat function verifies with: the secret as the local cloud holds it.
  apps = await readChatApps();
});
afterAll(async () => {
  await scene?.cloud.stop();
  await receiver?.close();
});

async function chat(platform: ChatKind, user: string, action: LocalAction) {
  const reply = await send(scene.cloud.url, signedCallback(apps, platform, { user, action }));
  expect(reply.status, reply.text).toBe(200);
  return replyText(apps, platform, reply.text);
}

async function link(platform: ChatKind, api: Client, user: string) {
  const code = await api.post('/api/v1/users/me/chat-links', {});
  expect(code.status).toBe(200);
  expect(await chat(platform, user, { kind: 'command', text: `link ${code.body.code}` })).toMatch(/^Linked/);
}

let release = 0;
async function waitingForApproval() {
  const reply = await deploy(scene.developer, scene.app.id, { env: 'prod', image: `3.${++release}.0` });
  expect(reply.status).toBe(202);
  const status = await statusWhen(scene.developer, reply.body.id, (s) => s.state === 'waiting_for_approval');
  return { deploymentId: reply.body.id as string, approvalId: status.approval.id as string };
}

/** The platform's card for the approval, once the bot has posted it. */
const cardOf = (platform: ChatKind, approvalId: string) =>
  eventually(async () => {
    const card = [...receiver.messages.values()].find(
      (m) => m.platform === platform && JSON.stringify(m.versions[0]).includes(approvalId),
    );
    expect(card).toBeDefined();
    return card as PostedMessage;
  });

type Node = Record<string, unknown>;
/** What a person reads on a button, whatever the platform's shape (`text.text`, `text.content`, `label.text`, `text`). */
function labelOf(node: Node): unknown {
  const text = node.text as Node | string | undefined;
  const label = node.label as Node | undefined;
  return typeof text === 'string' ? text : (text?.text ?? text?.content ?? label?.text);
}

/** The button a person would press: the object in the card labelled so. */
function buttonLabelled(card: unknown, label: string): Node | undefined {
  if (Array.isArray(card)) {
    for (const item of card) {
      const found = buttonLabelled(item, label);
      if (found) return found;
    }
    return undefined;
  }
  if (!card || typeof card !== 'object') return undefined;
  const node = card as Node;
  if (labelOf(node) === label && node.type !== 'plain_text') return node;
  return buttonLabelled(Object.values(node), label);
}

/** WeCom's follow-ups about the approval (its cards are not replaced without a click's response_code). */
const weComFollowUps = (approvalId: string) =>
  receiver.received
    .filter(
      (call) =>
        call.platform === 'wecom' &&
        call.kind === 'update' &&
        !call.refused &&
        JSON.stringify(call.body).includes(approvalId),
    )
    .map((call) => JSON.stringify(call.body))
    .join();

describe.each(PLATFORMS)('the ChatOps loop on %s', (platform) => {
  const bob = `bob-loop-${platform}`;
  beforeAll(() => link(platform, scene.approvers[0], bob));

  it('waits, posts a card, takes a linked approver’s click on it, resumes, and shows the decision', async () => {
    const { deploymentId, approvalId } = await waitingForApproval();
    const card = await cardOf(platform, approvalId);
    const approve = buttonLabelled(card.versions[0], 'Approve');
    expect(approve, JSON.stringify(card.versions[0])).toBeDefined();
    expect(buttonLabelled(card.versions[0], 'Reject')).toBeDefined();

    const typed = TYPED.has(platform) ? `lgtm from ${platform}` : undefined;
    if (typed) expect(JSON.stringify(card.versions[0])).toMatch(/"(type|tag)":"input"/);

    // The platform sends back what the card's button holds, and (DingTalk, WeCom) which card it was.
    const press: Press = {
      kind: 'press',
      button: approve as Node,
      card: card.ref,
      ...(typed ? { comment: typed } : {}),
    };
    expect(await chat(platform, bob, press)).toMatch(/You approved .* approved \(1\/1\)/);
    expect((await statusWhen(scene.developer, deploymentId)).state).toBe('succeeded');
    const votes = (await scene.approvers[0].get(`/api/v1/approvals/${approvalId}`)).body.votes;
    expect(votes).toEqual([expect.objectContaining({ by: 'rm-bob', decision: 'approve', via: platform })]);
    expect(votes[0].comment).toBe(typed);

    const decided = new RegExp(`Approved by rm-bob via ${NAME[platform]} at [^"]*${typed ? `: “${typed}”` : ''}`);
    await eventually(async () => {
      if (platform === 'wecom') {
        expect(weComFollowUps(approvalId)).toMatch(decided);
        return;
      }
      const latest = card.versions.at(-1);
      expect(JSON.stringify(latest)).toMatch(decided);
      expect(buttonLabelled(latest, 'Approve')).toBeUndefined();
      expect(buttonLabelled(latest, 'Reject')).toBeUndefined();
    }, 15_000);
  });
});
