/**
 * What a verified chat callback does: find the Slipway user the chat identity is linked to, then
 * decide through exactly the API's path (`decide`, with the platform named), answer a status
 * question, or redeem a link code. Every answer is a private reply to the person who clicked or
 * typed; nothing is decided for an unlinked chat user. A platform's retry of a callback finds the
 * first delivery's answer and never votes again (decide itself also refuses a second vote).
 */
import { callerFor } from '../auth/principal.ts';
import { approvalIdOf, decide } from '../delivery/approvals.ts';
import { queueOf } from '../delivery/environment-lock.ts';
import { listReleases } from '../delivery/releases.ts';
import { busy, DomainError, Transient } from '../errors.ts';
import type { ChatKind } from '../notify/channels.ts';
import { commit, getMany } from '../store/table.ts';
import { CALLBACK_MEMORY_SECONDS, chatKeys } from './keys.ts';
import { type ChatIdentity, linkedUser, redeemLinkCode } from './links.ts';

export type ChatAction =
  | { kind: 'decide'; approvalId: string; decision: 'approve' | 'reject'; comment?: string | undefined }
  | { kind: 'command'; text: string };

export interface ChatCallback {
  platform: ChatKind;
  /** The platform's id for this delivery (stable across its retries). */
  id: string;
  identity: ChatIdentity;
  action: ChatAction;
  requestId?: string | undefined;
}

export interface ChatReply {
  /** Shown only to the person who acted. */
  text: string;
  outcome: 'decided' | 'refused' | 'linked' | 'status' | 'help' | 'not-linked';
}

export const HELP =
  'Slipway commands: "status <app id> <env>", "approve <approval id> [comment]", "reject <approval id> <comment>", "link <code>".';

export async function handleCallback(callback: ChatCallback): Promise<ChatReply> {
  const seen = chatKeys.callback(callback.platform, callback.id);
  const [first] = await getMany([seen]);
  if (first) return first.reply as ChatReply;
  const reply = await answer(callback);
  await remember(seen, reply);
  return reply;
}

async function answer({ platform, identity, action, requestId }: ChatCallback): Promise<ChatReply> {
  const command = action.kind === 'command' ? parseCommand(action.text) : action;
  if (command.kind === 'help') return { text: HELP, outcome: 'help' };
  try {
    if (command.kind === 'link') {
      const link = await redeemLinkCode(identity, command.code, requestId);
      return { text: `Linked: you act as ${link.sub} in Slipway from here on.`, outcome: 'linked' };
    }
    const sub = await linkedUser(identity);
    if (!sub) {
      return {
        text: 'Your chat account is not linked to Slipway yet: get a code with POST /api/v1/users/me/chat-links, then send "/slipway link <code>" here. Nothing was decided.',
        outcome: 'not-linked',
      };
    }
    const caller = await callerFor(sub, requestId);
    if (command.kind === 'status') return { text: await status(caller, command.appId, command.env), outcome: 'status' };
    const approval = await decide(caller, command.approvalId, command.decision, command.comment, { via: platform });
    const verb = command.decision === 'approve' ? 'approved' : 'rejected';
    const given = approval.votes.filter((v) => v.decision === 'approve').length;
    return {
      text: `You ${verb} ${approval.app_name} to ${approval.env} (${approval.image}): the approval is ${approval.state} (${given}/${approval.minimum_approvals}).`,
      outcome: 'decided',
    };
  } catch (error) {
    // The refusal the API would answer, said to the clicker; an outage is the platform's to retry.
    if (error instanceof DomainError && !(error instanceof Transient))
      return { text: error.message, outcome: 'refused' };
    throw error;
  }
}

type Command =
  | { kind: 'help' }
  | { kind: 'link'; code: string }
  | { kind: 'status'; appId: string; env: string }
  | { kind: 'decide'; approvalId: string; decision: 'approve' | 'reject'; comment?: string | undefined };

/** `/slipway …` text, or a direct message to the app: the same words everywhere. */
export function parseCommand(text: string): Command {
  const [verb = '', first = '', ...rest] = text
    .trim()
    .replace(/^\/?slipway\b/i, '')
    .trim()
    .split(/\s+/);
  const comment = rest.join(' ').slice(0, 1000) || undefined;
  switch (verb.toLowerCase()) {
    case 'link':
      return first ? { kind: 'link', code: first } : { kind: 'help' };
    case 'status':
      return first && rest[0] ? { kind: 'status', appId: first, env: rest[0] } : { kind: 'help' };
    case 'approve':
    case 'reject':
      return first
        ? { kind: 'decide', approvalId: approvalId(first), decision: verb.toLowerCase() as 'approve', comment }
        : { kind: 'help' };
    default:
      return { kind: 'help' };
  }
}

/** An approval id, or the deployment id it belongs to (what a person is likely to have at hand). */
const approvalId = (id: string) => (id.startsWith('dep_') ? approvalIdOf(id) : id);

/** What runs in an environment and what waits for it, as the caller may see it. */
async function status(caller: Awaited<ReturnType<typeof callerFor>>, appId: string, env: string): Promise<string> {
  const releases = await listReleases(caller, appId, env, { limit: 20, cursor: undefined });
  const current = releases.items.find((r) => r.outcome === 'succeeded');
  const queue = await queueOf({ appId, env });
  const lines = [
    current
      ? `${env} runs ${current.image} (${current.replicas} replicas, revision ${current.revision}, by ${current.deployed_by} at ${current.deployed_at}).`
      : `Nothing has been deployed to ${env} yet.`,
    queue.holder ? `In progress: ${queue.holder.deployment_id}.` : 'Nothing in progress.',
    queue.waiting.length > 0 ? `Queued: ${queue.waiting.map((w) => w.deployment_id).join(', ')}.` : 'Nothing queued.',
  ];
  return lines.join('\n');
}

async function remember(key: ReturnType<typeof chatKeys.callback>, reply: ChatReply): Promise<void> {
  const expiresAt = Math.floor(Date.now() / 1000) + CALLBACK_MEMORY_SECONDS;
  // A concurrent retry may have remembered it first: either answer will do.
  await commit([{ put: { ...key, reply, expiresAt }, onFail: () => busy('chat-callback', 'Retry the callback.') }]);
}
