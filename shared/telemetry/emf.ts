/**
 * Publishes an invocation's recorded metrics as CloudWatch EMF lines through Powertools Metrics
 * (ADR 27). Only the Lambda wrapper imports this: Powertools stays out of infra/ and out of the
 * modules that merely record.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logger } from '../logger.ts';
import { METRICS, METRICS_NAMESPACE, type RecordedMetric } from './metrics.ts';

const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
// Powertools makes `service` a dimension of every metric; ours carry exactly the table's dimensions
// (one time series whichever function records it), and the function's name goes in as a property.
metrics.clearDefaultDimensions();

/**
 * One EMF line per distinct set of dimension values (and metadata): an EMF document applies its
 * dimensions to all its metrics. Synchronous from first add to publish, so concurrent invocations
 * in one process (the local cloud) cannot mix their points in the shared instance.
 */
export function publishMetrics(recorded: readonly RecordedMetric[], service: string): void {
  const groups = new Map<string, RecordedMetric[]>();
  for (const point of recorded) {
    const key = JSON.stringify([point.dimensions, point.metadata ?? {}]);
    const group = groups.get(key);
    if (group) group.push(point);
    else groups.set(key, [point]);
  }
  try {
    for (const [first, ...rest] of groups.values()) {
      if (!first) continue;
      metrics.addDimensions(first.dimensions);
      metrics.addMetadata('service', service);
      for (const [key, value] of Object.entries(first.metadata ?? {})) metrics.addMetadata(key, value);
      for (const point of [first, ...rest]) metrics.addMetric(point.name, METRICS[point.name].unit, point.value);
      metrics.publishStoredMetrics();
    }
  } catch (error) {
    // A metric must never fail the work it measures.
    metrics.clearMetrics();
    metrics.clearDimensions();
    metrics.clearMetadata();
    logger.warn('metrics could not be published', { error });
  }
}
