import { type AppendOutcome, appendToAuditLog } from '../../shared/audit/append.ts';
import { type BusEvent, changeOf, type ReceivedChangeEvent } from '../../shared/events/envelope.ts';
import { lambda } from '../../shared/lambda.ts';

/**
 * The audit rule's target: every Slipway change event becomes one entry of its subject's chain.
 * Throwing hands the event back to the bus, which retries it (a duplicate is answered as done).
 */
export const handler = lambda(
  async (event: BusEvent): Promise<AppendOutcome> => appendToAuditLog(wellFormed(changeOf(event))),
);

/** Our own bus carries only our events; anything else is a bug upstream and goes to the dead-letter queue. */
function wellFormed(event: ReceivedChangeEvent): ReceivedChangeEvent {
  const fields = [event.id, event.source, event.type, event.time, event.actor, event.subject];
  if (!fields.every((f) => typeof f === 'string' && f.length > 0) || typeof event.data !== 'object') {
    throw new Error(`Not a Slipway change event: ${JSON.stringify(event).slice(0, 500)}`);
  }
  return event;
}
