/**
 * Keeps each channel's approval message in step with the approval (ADR 31). `Approval Requested`
 * posts it; every later approval event (vote cast, granted, rejected, and the deployment expiring or
 * being cancelled) replaces it. The card is always rendered from the approval as stored, and the
 * stored ref remembers which version the channel shows, so events arriving late, twice or out of
 * order change nothing, and a vote recorded while the first post was in flight is caught up at once.
 */
import { type ApprovalView, approvalIdOf } from '../delivery/approvals.ts';
import { deliveryKeys } from '../delivery/keys.ts';
import type { DeploymentView } from '../delivery/model.ts';
import type { Release } from '../delivery/releases.ts';
import { conflict } from '../errors.ts';
import type { ReceivedChangeEvent } from '../events/envelope.ts';
import type { ConfiguredChannel } from '../notify/config.ts';
import { present } from '../store/records.ts';
import { commit, getMany, type Item } from '../store/table.ts';
import { approvalCard } from './approval-card.ts';
import type { ChatApps } from './apps.ts';
import { type ChatBot, chatBot, type MessageRef, messageKey } from './bots.ts';
import { approvalMessageKeys } from './keys.ts';

/** Which events touch the approval message: the request posts it, the others replace it. */
const APPROVAL_MESSAGE_EVENTS: Readonly<Record<string, 'post' | 'update'>> = {
  'Approval Requested': 'post',
  'Approval Vote Cast': 'update',
  'Approval Granted': 'update',
  'Approval Rejected': 'update',
  'Deployment Expired': 'update',
  'Deployment Cancelled': 'update',
  'Rollback Cancelled': 'update',
};

/** What an interactive channel is not also sent as a plain line: the card shows it. */
const SHOWN_ON_CARD = new Set([
  'Approval Requested',
  'Approval Vote Cast',
  'Approval Granted',
  'Approval Rejected',
  'Deployment Waiting For Approval',
]);

export const touchesApprovalMessage = (event: ReceivedChangeEvent) => event.type in APPROVAL_MESSAGE_EVENTS;
export const shownOnCard = (event: ReceivedChangeEvent) => SHOWN_ON_CARD.has(event.type);

/** The approval an event is about: named by approval events, derived from the deployment by the others. */
export function approvalOf(event: ReceivedChangeEvent): string | undefined {
  const data = (event.data ?? {}) as Record<string, unknown>;
  if (typeof data.approval_id === 'string') return data.approval_id;
  return typeof data.deployment_id === 'string' ? approvalIdOf(data.deployment_id) : undefined;
}

/** A channel whose conversation a bot posts to. */
export interface InteractiveChannel {
  id: string;
  bot: ChatBot;
}

/**
 * The channels that get approval cards: those naming a conversation whose platform's app has bot
 * credentials. A card's updates go wherever its request went, whatever a channel's event list says.
 * Takes the resolved channels (platform-wide today; a project's too, later), so any list feeds it.
 */
export function cardChannels(channels: readonly ConfiguredChannel[], apps: ChatApps): InteractiveChannel[] {
  return channels.flatMap(({ id, bot: target }) => {
    const bot = target && chatBot(target, apps);
    return bot ? [{ id, bot }] : [];
  });
}

/** The event as the request it follows: what selects a card's channels for every later event. */
export const asRequest = (event: ReceivedChangeEvent): ReceivedChangeEvent => ({
  ...event,
  type: 'Approval Requested',
});

/** Rounds of "replace, then check nobody moved the approval on meanwhile" before leaving it to the next event. */
const MAX_ROUNDS = 3;
/** Refs outlive their approval by a month (a late update still finds its message), then TTL removes them. */
const REF_TTL_SECONDS = 30 * 86_400;

/** Brings one channel's message to the approval's current state; a platform error throws (the bus retries). */
export async function syncApprovalMessage(
  event: ReceivedChangeEvent,
  approvalId: string,
  { id: channelId, bot }: InteractiveChannel,
): Promise<void> {
  const key = approvalMessageKeys.message(approvalId, channelId);
  let mayPost = APPROVAL_MESSAGE_EVENTS[event.type] === 'post';
  let force = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const [approvalItem, refItem] = await getMany([deliveryKeys.approval(approvalId), key]);
    // No approval (a deployment that never waited), or a channel that never got the message: nothing to replace.
    if (!approvalItem || (!refItem && !mayPost)) return;
    const approval = present<ApprovalView>(approvalItem);
    if (refItem && (refItem.version as number) >= approval.version && !force) return;
    const card = approvalCard(approval, ...(await context(approval)));

    if (!refItem) {
      const ref = await bot.post(card, messageKey(approvalId, channelId));
      // A second poster (a retry racing the first) finds the ref taken and replaces instead.
      const stored = await store(key, card.version, ref, approval.expires_at, 'attribute_not_exists(PK)');
      force = !stored;
      mayPost = false;
      continue;
    }
    await bot.update(refItem.ref as MessageRef, card);
    const stored = await store(
      key,
      card.version,
      refItem.ref as MessageRef,
      approval.expires_at,
      '#version <= :version',
    );
    // Someone stored a later version while our replacement was on its way: ours may have landed last, so go again.
    force = !stored;
    if (stored) mayPost = false;
  }
}

/** The deployment (replicas, how it ended) and the release running there now (the diff). */
async function context(approval: ApprovalView): Promise<[DeploymentView?, Release?]> {
  const [deployment, head] = await getMany([
    deliveryKeys.deployment(approval.deployment_id),
    deliveryKeys.releaseHead(approval.app_id, approval.env),
  ]);
  return [deployment as (Item & DeploymentView) | undefined, head?.current as Release | undefined];
}

/** Records which version the channel shows; false when the condition says someone else got there. */
async function store(
  key: ReturnType<typeof approvalMessageKeys.message>,
  version: number,
  ref: MessageRef,
  expiresAt: string,
  condition: string,
): Promise<boolean> {
  const now = new Date().toISOString();
  try {
    await commit([
      {
        update: key,
        set: 'SET #version = :version, #ref = :ref, updated_at = :now, posted_at = if_not_exists(posted_at, :now), expiresAt = :ttl',
        condition,
        names: { '#version': 'version', '#ref': 'ref' },
        values: {
          ':version': version,
          ':ref': ref,
          ':now': now,
          ':ttl': Math.floor(new Date(expiresAt).getTime() / 1000) + REF_TTL_SECONDS,
        },
        onFail: () => conflict('chat-message-moved', 'The message was posted or replaced meanwhile.'),
      },
    ]);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'chat-message-moved') return false;
    throw error;
  }
}
