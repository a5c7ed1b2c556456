import type { ChangeEventData } from '../../shared/events/catalog.ts';
import { type BusEvent, changeOf } from '../../shared/events/envelope.ts';
import { dispatchDelivery } from '../../shared/hooks/dispatch.ts';
import { lambda } from '../../shared/lambda.ts';

/**
 * The `git-received` rule's target: starts the runs a stored push or pull request triggers.
 * Throwing hands the event back to the bus (a store or workflow outage); a retry starts nothing twice.
 */
export const handler = lambda(async (event: BusEvent) => {
  const data = changeOf(event).data as Partial<ChangeEventData<'Git Push Received'>> | undefined;
  if (
    typeof data?.hook_id !== 'string' ||
    typeof data.delivery_id !== 'string' ||
    typeof data.dispatch_id !== 'string'
  ) {
    throw new Error(`Not a Git delivery event: ${JSON.stringify(event.detail).slice(0, 500)}`);
  }
  return dispatchDelivery(data as ChangeEventData<'Git Push Received'>);
});
