/**
 * The one event publisher: puts change events on the bus (EVENT_BUS_NAME, or the default bus).
 * Each ChangeEvent becomes one entry: `source`, `detail-type` = its type, and the rest as detail
 * (see envelope.ts). The table stream feeds it new outbox items (functions/event-publisher).
 */

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { config } from '../config.ts';
import type { ChangeEvent } from './envelope.ts';
import { OUTBOX_PREFIX } from './outbox.ts';

/** Created once per container; the endpoint comes from AWS_ENDPOINT_URL_EVENTBRIDGE locally. */
const client = new EventBridgeClient({});

/** PutEvents takes at most 10 entries per request. */
const MAX_ENTRIES = 10;

/** Stream record image → the ChangeEvent it carries, or undefined for an item that is not an outbox event. */
export function outboxEvent(image: Record<string, unknown> | undefined): ChangeEvent | undefined {
  if (!image) return undefined;
  const item = unmarshall(image as Record<string, AttributeValue>);
  return typeof item.PK === 'string' && item.PK.startsWith(OUTBOX_PREFIX) ? (item.event as ChangeEvent) : undefined;
}

/**
 * Publishes `events` in requests of 10. Returns the events the bus did not take (a failed entry,
 * or a whole request that failed) with the reasons, so the caller can retry just those.
 */
export async function publish(events: ChangeEvent[]): Promise<{ failed: ChangeEvent[]; errors: string[] }> {
  const failed: ChangeEvent[] = [];
  const errors: string[] = [];
  for (let start = 0; start < events.length; start += MAX_ENTRIES) {
    const chunk = events.slice(start, start + MAX_ENTRIES);
    try {
      const out = await client.send(new PutEventsCommand({ Entries: chunk.map(entryOf) }));
      out.Entries?.forEach((entry, i) => {
        if (!entry.ErrorCode) return;
        failed.push(chunk[i] as ChangeEvent);
        errors.push(`${entry.ErrorCode}: ${entry.ErrorMessage}`);
      });
    } catch (error) {
      failed.push(...chunk);
      errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
  }
  return { failed, errors };
}

function entryOf(event: ChangeEvent): PutEventsRequestEntry {
  const { source, type, ...detail } = event;
  return {
    EventBusName: config.eventBusName,
    Source: source,
    DetailType: type,
    Detail: JSON.stringify(detail),
    Time: new Date(event.time),
  };
}
