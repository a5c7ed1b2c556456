/**
 * EventBridge rule target: reports each `Pipeline Run …` event to the commit at the Git provider.
 * A failure the provider may get over throws, so the rule's retry policy and dead-letter queue take it.
 */
import { type BusEvent, changeOf } from '../../shared/events/envelope.ts';
import { lambda } from '../../shared/lambda.ts';
import { logger } from '../../shared/logger.ts';
import { reportRunStatus } from '../../shared/pipelines/commit-status.ts';

async function report(event: BusEvent): Promise<void> {
  const change = changeOf(event);
  const result = await reportRunStatus(change);
  const context = { event_id: change.id, type: change.type, subject: change.subject, ...result };
  if (result.outcome === 'refused') logger.warn('Commit status refused by the provider; not retried', context);
  else logger.info('Commit status', context);
}

export const handler = lambda(report);
