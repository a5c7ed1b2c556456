/**
 * EventBridge rule target: renders a change event and sends it to every chat channel that wants it:
 * the platform-wide ones and the event's project's own (shared/chat/channel-routing.ts).
 * Any failed channel fails the invocation, so EventBridge retries the event and finally dead-letters
 * it. Delivery is at least once; channels that already got an event are remembered per container so
 * a retry landing here does not post twice.
 */
import { channelsForEvent } from '../../shared/chat/channel-routing.ts';
import { type BusEvent, changeOf, type ReceivedChangeEvent } from '../../shared/events/envelope.ts';
import { lambda } from '../../shared/lambda.ts';
import { logger } from '../../shared/logger.ts';
import type { ChatMessage } from '../../shared/notify/channels.ts';
import type { ConfiguredChannel } from '../../shared/notify/config.ts';
import { renderMessage } from '../../shared/notify/render.ts';
import { ChatDeliveryFailed } from '../../shared/notify/safe-fetch.ts';

/** `<event id> <channel id>` pairs already delivered, oldest first; bounded so a warm container does not grow. */
const delivered = new Set<string>();
const DELIVERED_LIMIT = 5_000;

async function notify(event: BusEvent): Promise<void> {
  const change = changeOf(event);
  const message = renderMessage(change);
  if (!message) return;
  const targets = await channelsForEvent(change);
  if (targets.length === 0) return;
  const failures = (await Promise.all(targets.map((target) => deliver(change, message, target)))).filter(
    (failure) => failure !== undefined,
  );
  if (failures.length > 0) {
    throw new ChatDeliveryFailed(`${failures.length} of ${targets.length} channel(s) failed: ${failures.join('; ')}`);
  }
  logger.info('Notified', { event_id: change.id, type: change.type, channels: targets.length });
}

/** Sends unless this container already delivered it; answers the failure, or undefined once delivered. */
async function deliver(change: ReceivedChangeEvent, message: ChatMessage, { id, channel }: ConfiguredChannel) {
  const key = `${change.id} ${id}`;
  if (delivered.has(key)) return undefined;
  try {
    await channel.send(message);
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
