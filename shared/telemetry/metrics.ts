/**
 * The platform's CloudWatch metrics (ADR 27): one table of names, units and dimensions that the
 * functions record, the local cloud lists and the dashboard and alarms (infra/) import, so no
 * name is typed twice. No Powertools here: infra/ imports this module, and so does domain code,
 * whose records the one Lambda wrapper publishes as EMF at the end of each invocation
 * (shared/telemetry/emf.ts). Dimensions are few and bounded: never ids or environment names.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export const METRICS_NAMESPACE = 'Slipway';

export type MetricUnit = 'Count' | 'Milliseconds';

export interface MetricSpec {
  unit: MetricUnit;
  /** The exact dimension set every data point carries (CloudWatch identifies a metric by it). */
  dimensions: readonly string[];
  /** Where the number comes from on AWS when it is not our own EMF (the local cloud plays that service). */
  aws?: { namespace: string; metricName: string; dimension: string; note: string };
}

export const METRICS = {
  /** A deployment or rollback reached a final state (`advance()`); Outcome is that state. */
  DeploymentsFinished: { unit: 'Count', dimensions: ['Outcome', 'Tier'] },
  /** A deploy or rollback was queued. */
  DeploymentsStarted: { unit: 'Count', dimensions: ['Kind', 'Tier'] },
  /** Queued → environment lock acquired. */
  DeployQueueWait: { unit: 'Milliseconds', dimensions: ['Tier'] },
  /** Approval requested → decided (approved or rejected), as the workflow moves on. */
  DeployApprovalWait: { unit: 'Milliseconds', dimensions: ['Tier'] },
  /** Apply started → final: apply, rollout and any rollback. */
  DeployApplyTime: { unit: 'Milliseconds', dimensions: ['Tier'] },
  /** Queued → final. */
  DeployDuration: { unit: 'Milliseconds', dimensions: ['Tier'] },
  /** Deployments ahead (holding or waiting) when one first asks for its environment's lock; the env as metadata. */
  DeployQueueDepth: { unit: 'Count', dimensions: ['Tier'] },
  ApprovalsDecided: { unit: 'Count', dimensions: ['Decision'] },
  ApprovalsExpired: { unit: 'Count', dimensions: [] },
  BuildsFinished: { unit: 'Count', dimensions: ['Outcome'] },
  PipelineRunsFinished: { unit: 'Count', dimensions: ['Outcome'] },
  /** Counted by the local bus; on AWS, EventBridge's own metric per rule. */
  BusDeliveriesRetried: {
    unit: 'Count',
    dimensions: ['Rule'],
    aws: {
      namespace: 'AWS/Events',
      metricName: 'RetryInvocationAttempts',
      dimension: 'RuleName',
      note: "EventBridge's retries of delivery to Lambda; handler errors are retried by Lambda's async invocation (ADR 5) and show as the target function's Errors",
    },
  },
  BusDeliveriesDeadLettered: {
    unit: 'Count',
    dimensions: ['Rule'],
    aws: {
      namespace: 'AWS/SQS',
      metricName: 'NumberOfMessagesSent',
      dimension: 'QueueName',
      note: "messages into the rule's dead-letter queue: EventBridge's InvocationsSentToDlq and the target's async failures both land there (ADR 5)",
    },
  },
  /** A Git webhook delivery the hook receiver refused (bad signature or unknown endpoint, or a refused event). */
  WebhookDeliveriesRefused: { unit: 'Count', dimensions: ['Provider', 'Reason'] },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;
export type DimensionsOf<N extends MetricName> = Record<(typeof METRICS)[N]['dimensions'][number], string>;

/** The bounded values of WebhookDeliveriesRefused's Reason. */
export const WEBHOOK_REFUSALS = ['unauthenticated', 'event-not-enabled', 'repository-mismatch', 'other'] as const;

/** One data point as recorded; `metadata` goes in the EMF line as a property, searchable in Logs Insights. */
export interface RecordedMetric {
  name: MetricName;
  value: number;
  dimensions: Record<string, string>;
  metadata?: Record<string, string>;
}

const invocation = new AsyncLocalStorage<RecordedMetric[]>();

/**
 * Records a data point for the current invocation; the wrapper publishes it when the invocation
 * ends. Outside an invocation (a script, a use-case test) it is dropped, as is a value that is
 * not a finite number (a duration from a missing timestamp).
 */
export function recordMetric<N extends MetricName>(
  name: N,
  value: number,
  dimensions: DimensionsOf<N>,
  metadata?: Record<string, string>,
): void {
  if (!Number.isFinite(value)) return;
  invocation.getStore()?.push({ name, value, dimensions, ...(metadata ? { metadata } : {}) });
}

/** Runs one invocation with its own record (functions run concurrently in one process locally); `publish` gets what it recorded. */
export async function recordingMetrics<R>(work: () => Promise<R>, publish: (recorded: RecordedMetric[]) => void) {
  const recorded: RecordedMetric[] = [];
  try {
    return await invocation.run(recorded, work);
  } finally {
    if (recorded.length > 0) publish(recorded);
  }
}

/** Milliseconds between two ISO timestamps (NaN when one is missing: recordMetric drops it). */
export const millisBetween = (from: string | undefined, to: string | undefined): number =>
  from && to ? Date.parse(to) - Date.parse(from) : Number.NaN;
