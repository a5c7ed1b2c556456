import { CHECKPOINT_REQUESTED, type CheckpointOutcome, takeCheckpoint } from '../../shared/audit/checkpoints.ts';
import { type BusEvent, changeOf } from '../../shared/events/envelope.ts';
import { lambda } from '../../shared/lambda.ts';

/** What the schedule delivers (an EventBridge scheduled rule's event); its detail is empty. */
type ScheduledEvent = Omit<BusEvent, 'detail'> & { 'detail-type': 'Scheduled Event'; detail: Record<string, never> };

/**
 * Target of the checkpoint schedule (every few minutes) and of the "Audit Checkpoint Requested"
 * rule (POST /audit/checkpoints): writes the next signed checkpoint of every audit chain.
 * Throwing hands the event back to its rule, which retries it.
 */
export const handler = lambda(async (event: BusEvent | ScheduledEvent): Promise<CheckpointOutcome> => {
  if (event['detail-type'] === 'Scheduled Event') return takeCheckpoint({ kind: 'schedule' });
  if (event['detail-type'] === CHECKPOINT_REQUESTED)
    return takeCheckpoint({ kind: 'request', event: changeOf(event as BusEvent) });
  throw new Error(`Not a checkpoint trigger: ${String(event['detail-type']).slice(0, 200)}`);
});
