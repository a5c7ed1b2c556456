import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { ChangeEvent } from '../../shared/events/envelope.ts';
import { outboxEvent, publish } from '../../shared/events/publisher.ts';
import { lambda } from '../../shared/lambda.ts';
import { logger } from '../../shared/logger.ts';

/**
 * Table stream → bus. The event source mapping's filter (the manifest's streamConsumer) lets only new outbox
 * items through; each carries one ChangeEvent. Events the bus refuses are reported as batch item
 * failures, so the stream retries from the first of them (consumers deduplicate on the event id).
 */
const publishOutbox = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const records = new Map<ChangeEvent, DynamoDBRecord>();
  for (const record of event.Records) {
    const change = record.eventName === 'INSERT' ? outboxEvent(record.dynamodb?.NewImage) : undefined;
    if (change) records.set(change, record);
  }
  const { failed, errors } = await publish([...records.keys()]);
  if (failed.length > 0)
    logger.warn('Events not published; the stream will retry them', { count: failed.length, errors });
  return {
    batchItemFailures: failed.map((change) => ({
      itemIdentifier: records.get(change)?.dynamodb?.SequenceNumber ?? '',
    })),
  };
};

export const handler = lambda(publishOutbox);
