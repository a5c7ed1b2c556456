import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lambda } from '../../../shared/lambda.ts';
import { METRICS, METRICS_NAMESPACE, recordMetric } from '../../../shared/telemetry/metrics.ts';

const context = (functionName: string) =>
  ({ awsRequestId: 'req-1', functionName, getRemainingTimeInMillis: () => 10_000 }) as unknown as Context;

/** Everything written to stdout and stderr while `work` runs, as lines. */
async function output(work: () => Promise<unknown>): Promise<{ stdout: string[]; stderr: string[] }> {
  const written = { stdout: [] as string[], stderr: [] as string[] };
  for (const stream of ['stdout', 'stderr'] as const) {
    vi.spyOn(process[stream], 'write').mockImplementation((chunk) => {
      written[stream].push(...String(chunk).split('\n').filter(Boolean));
      return true;
    });
  }
  try {
    await work();
  } finally {
    vi.restoreAllMocks();
  }
  return written;
}
interface EmfLine {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
  [key: string]: unknown;
}
const emf = (lines: string[]) => lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as EmfLine);

afterEach(() => vi.restoreAllMocks());

describe('the metric table', () => {
  it('names each metric the dashboard and alarms use, with its unit and exact dimensions', () => {
    const table = Object.fromEntries(Object.entries(METRICS).map(([name, m]) => [name, [m.unit, m.dimensions]]));
    expect(table).toEqual({
      DeploymentsFinished: ['Count', ['Outcome', 'Tier']],
      DeploymentsStarted: ['Count', ['Kind', 'Tier']],
      DeployQueueWait: ['Milliseconds', ['Tier']],
      DeployApprovalWait: ['Milliseconds', ['Tier']],
      DeployApplyTime: ['Milliseconds', ['Tier']],
      DeployDuration: ['Milliseconds', ['Tier']],
      DeployQueueDepth: ['Count', ['Tier']],
      ApprovalsDecided: ['Count', ['Decision']],
      ApprovalsExpired: ['Count', []],
      BuildsFinished: ['Count', ['Outcome']],
      PipelineRunsFinished: ['Count', ['Outcome']],
      BusDeliveriesRetried: ['Count', ['Rule']],
      BusDeliveriesDeadLettered: ['Count', ['Rule']],
      WebhookDeliveriesRefused: ['Count', ['Provider', 'Reason']],
    });
    expect(METRICS_NAMESPACE).toBe('Slipway');
  });
});

describe('where Powertools Metrics is', () => {
  const repoRoot = join(import.meta.dirname, '../../..');
  const importers = (pattern: RegExp) =>
    ['shared', 'functions', 'infra'].flatMap((dir) =>
      readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .map((file) => join(dir, file))
        .filter((file) => pattern.test(readFileSync(join(repoRoot, file), 'utf8'))),
    );

  it('is imported by the publishing module alone, which only the one wrapper imports: infra/ reads the table without it', () => {
    expect(importers(/from '@aws-lambda-powertools\/metrics/)).toEqual(['shared/telemetry/emf.ts']);
    expect(importers(/from '[./]*\/telemetry\/emf\.ts'/)).toEqual(['shared/lambda.ts']);
    const table = readFileSync(join(repoRoot, 'shared/telemetry/metrics.ts'), 'utf8');
    expect([...table.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['node:async_hooks']);
  });
});

describe('metrics published by the one Lambda wrapper', () => {
  it('writes one EMF line per set of dimension values, with exactly the table’s dimensions and the function as service', async () => {
    const handler = lambda(async () => {
      recordMetric('DeploymentsFinished', 1, { Outcome: 'succeeded', Tier: 'production' });
      recordMetric('DeployDuration', 1500, { Tier: 'production' });
      recordMetric('DeployApplyTime', 700, { Tier: 'production' });
      recordMetric('ApprovalsExpired', 1, {});
      recordMetric('DeployQueueDepth', 2, { Tier: 'production' }, { app_id: 'app_1', env: 'prod' });
      return 'done';
    });
    const { stdout } = await output(() => handler({}, context('slipway-record-outcome')));
    const lines = emf(stdout);
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line._aws.Timestamp).toBeTypeOf('number');
      expect(line._aws.CloudWatchMetrics).toHaveLength(1);
      expect(line._aws.CloudWatchMetrics[0]?.Namespace).toBe('Slipway');
      expect(line.service).toBe('slipway-record-outcome');
    }
    const [finished, times, expired, depth] = lines;
    expect(finished?._aws.CloudWatchMetrics[0]).toMatchObject({
      Dimensions: [['Outcome', 'Tier']],
      Metrics: [{ Name: 'DeploymentsFinished', Unit: 'Count' }],
    });
    expect(finished).toMatchObject({ Outcome: 'succeeded', Tier: 'production', DeploymentsFinished: 1 });
    expect(times?._aws.CloudWatchMetrics[0]).toMatchObject({
      Dimensions: [['Tier']],
      Metrics: [
        { Name: 'DeployDuration', Unit: 'Milliseconds' },
        { Name: 'DeployApplyTime', Unit: 'Milliseconds' },
      ],
    });
    expect(times).toMatchObject({ DeployDuration: 1500, DeployApplyTime: 700 });
    // No dimensions at all: one empty dimension set, not `service`.
    expect(expired?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([[]]);
    expect(depth).toMatchObject({ Tier: 'production', DeployQueueDepth: 2, app_id: 'app_1', env: 'prod' });
    expect(depth?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Tier']]);
  });

  it('writes nothing at all, not even a warning, for an invocation that recorded nothing', async () => {
    const handler = lambda(async () => 'quiet');
    const written = await output(() => handler({}, context('slipway-meta')));
    expect(written).toEqual({ stdout: [], stderr: [] });
  });

  it('publishes what a failed invocation recorded before it failed, and the error still goes out', async () => {
    const handler = lambda(async () => {
      recordMetric('BuildsFinished', 1, { Outcome: 'failed' });
      throw Object.assign(new Error('cluster down'), { name: 'ClusterUnreachable' });
    });
    let failure: unknown;
    const { stdout } = await output(() => handler({}, context('slipway-builder')).catch((e) => (failure = e)));
    expect(failure).toMatchObject({ name: 'ClusterUnreachable' });
    expect(emf(stdout)).toMatchObject([{ BuildsFinished: 1, Outcome: 'failed', service: 'slipway-builder' }]);
  });

  it('keeps concurrent invocations apart (the local cloud runs them in one process)', async () => {
    const handler = lambda(async (event: { outcome: string; pause: number }) => {
      await sleep(event.pause);
      recordMetric('PipelineRunsFinished', 1, { Outcome: event.outcome });
      await sleep(event.pause);
      recordMetric('PipelineRunsFinished', 1, { Outcome: event.outcome });
      return event.outcome;
    });
    const { stdout } = await output(() =>
      Promise.all([
        handler({ outcome: 'succeeded', pause: 5 }, context('slipway-a')),
        handler({ outcome: 'failed', pause: 2 }, context('slipway-b')),
      ]),
    );
    const lines = emf(stdout);
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.service === 'slipway-a')).toMatchObject({
      Outcome: 'succeeded',
      PipelineRunsFinished: [1, 1],
    });
    expect(lines.find((l) => l.service === 'slipway-b')).toMatchObject({
      Outcome: 'failed',
      PipelineRunsFinished: [1, 1],
    });
  });

  it('drops a point recorded outside an invocation, and a value that is not a number', async () => {
    expect(() => recordMetric('ApprovalsExpired', 1, {})).not.toThrow();
    const handler = lambda(async () => {
      recordMetric('DeployQueueWait', Number.NaN, { Tier: 'other' });
      return 'ok';
    });
    const written = await output(() => handler({}, context('slipway-lock')));
    expect(written.stdout).toEqual([]);
  });
});
