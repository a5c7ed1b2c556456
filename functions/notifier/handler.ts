/**
 * EventBridge rule target: renders a change event and sends it to every chat channel that wants it
 * (the platform-wide ones and the event's project's own: shared/chat/channel-routing.ts), and keeps
 * approval cards in step on the channels whose bot posts them (ADR 31). Any failed channel
 * fails the invocation, so EventBridge retries the event and finally dead-letters it. Delivery is at
 * least once; channels that already got an event are remembered per container so a retry landing
 * here does not post twice (cards are idempotent on their own: they remember the version shown).
 */

import {
  approvalOf,
  asRequest,
  cardChannels,
  shownOnCard,
  syncApprovalMessage,
  touchesApprovalMessage,
} from '../../shared/chat/approval-messages.ts';
import { type ChatApps, loadChatApps } from '../../shared/chat/apps.ts';
import { channelsForEvent } from '../../shared/chat/channel-routing.ts';
import { type BusEvent, changeOf, type ReceivedChangeEvent } from '../../shared/events/envelope.ts';
import { lambda } from '../../shared/lambda.ts';
import { logger } from '../../shared/logger.ts';
import { InvalidChatConfig } from '../../shared/notify/config.ts';
import { renderMessage } from '../../shared/notify/render.ts';
import { ChatDeliveryFailed } from '../../shared/notify/safe-fetch.ts';

/** `<event id> <channel id>` pairs already delivered, oldest first; bounded so a warm container does not grow. */
const delivered = new Set<string>();
const DELIVERED_LIMIT = 5_000;

async function notify(event: BusEvent): Promise<void> {
  const change = changeOf(event);
  const message = renderMessage(change);
  const approvalId = touchesApprovalMessage(change) ? approvalOf(change) : undefined;
  if (!message && !approvalId) return;

  const targets = message ? await channelsForEvent(change) : [];
  // A card's channels are those of the request it follows; only a channel with a bot can hold one.
  const candidates = approvalId !== undefined || shownOnCard(change) ? await channelsForEvent(asRequest(change)) : [];
  const cards = candidates.some((c) => c.bot) ? cardChannels(candidates, await chatApps()) : [];
  const carded = new Set(cards.map((card) => card.id));
  const plain = message ? targets.filter((target) => !(shownOnCard(change) && carded.has(target.id))) : [];
  const jobs = [
    ...plain.map(({ id, channel }) => deliver(change, id, () => channel.send(message as NonNullable<typeof message>))),
    ...(approvalId
      ? cards.map((card) => deliver(change, `${card.id} card`, () => syncApprovalMessage(change, approvalId, card)))
      : []),
  ];
  if (jobs.length === 0) return;
  const failures = (await Promise.all(jobs)).filter((failure) => failure !== undefined);
  if (failures.length > 0) {
    throw new ChatDeliveryFailed(`${failures.length} of ${jobs.length} channel(s) failed: ${failures.join('; ')}`);
  }
  logger.info('Notified', { event_id: change.id, type: change.type, channels: plain.length, cards: cards.length });
}

/** The bots' credentials; an invalid document means no bots (webhook messages still go), not a stuck event. */
async function chatApps(): Promise<ChatApps> {
  try {
    return await loadChatApps();
  } catch (error) {
    if (!(error instanceof InvalidChatConfig)) throw error;
    logger.error('Chat apps secret is invalid; approval cards fall back to plain messages', { reason: error.message });
    return {};
  }
}

/** Sends unless this container already delivered it; answers the failure, or undefined once delivered. */
async function deliver(change: ReceivedChangeEvent, id: string, send: () => Promise<void>) {
  const key = `${change.id} ${id}`;
  if (delivered.has(key)) return undefined;
  try {
    await send();
    remember(key);
    return undefined;
  } catch (error) {
    logger.warn('Chat delivery failed', { event_id: change.id, type: change.type, channel: id, error });
    return `${id}: ${(error as Error).message}`;
  }
}

function remember(key: string): void {
  delivered.add(key);
  if (delivered.size > DELIVERED_LIMIT) delivered.delete(delivered.values().next().value as string);
}

export const handler = lambda(notify);
