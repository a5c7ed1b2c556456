import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetricsCollector } from '../../../infra/local/metrics.ts';

const line = (doc: Record<string, unknown>) => JSON.stringify(doc);
const emf = (metrics: { Name: string; Unit: string }[], dimensions: string[][], rest: Record<string, unknown>) =>
  line({
    _aws: {
      Timestamp: Date.parse('2026-12-04T10:00:00Z'),
      CloudWatchMetrics: [{ Namespace: 'Slipway', Dimensions: dimensions, Metrics: metrics }],
    },
    ...rest,
  });

afterEach(() => vi.restoreAllMocks());

describe('the local cloud’s metrics', () => {
  it('lists each series by name and dimension values with its last value, as CloudWatch would extract them', () => {
    const metrics = createMetricsCollector();
    const finished = (outcome: string) =>
      emf([{ Name: 'DeploymentsFinished', Unit: 'Count' }], [['Outcome', 'Tier']], {
        service: 'slipway-record-outcome',
        Outcome: outcome,
        Tier: 'production',
        DeploymentsFinished: 1,
      });
    expect(metrics.ingest(finished('succeeded'))).toBe(true);
    expect(metrics.ingest(finished('succeeded'))).toBe(true);
    expect(metrics.ingest(finished('failed'))).toBe(true);
    expect(
      metrics.ingest(
        emf([{ Name: 'DeployDuration', Unit: 'Milliseconds' }], [['Tier']], {
          Tier: 'staging',
          DeployDuration: [900, 1200],
          service: 'x',
        }),
      ),
    ).toBe(true);

    expect(metrics.series()).toEqual([
      expect.objectContaining({
        name: 'DeployDuration',
        unit: 'Milliseconds',
        dimensions: { Tier: 'staging' },
        last: 1200,
        count: 2,
        min: 900,
        max: 1200,
        last_at: '2026-12-04T10:00:00.000Z',
      }),
      expect.objectContaining({
        name: 'DeploymentsFinished',
        dimensions: { Outcome: 'succeeded', Tier: 'production' },
        last: 1,
        count: 2,
        sum: 2,
        source: 'slipway-record-outcome',
      }),
      expect.objectContaining({
        name: 'DeploymentsFinished',
        dimensions: { Outcome: 'failed', Tier: 'production' },
        last: 1,
        count: 1,
      }),
    ]);
    expect(metrics.documents()).toHaveLength(4);
  });

  it('counts what the local bus reports (on AWS, EventBridge’s own metrics) beside the functions’ EMF', () => {
    const metrics = createMetricsCollector();
    metrics.count('Slipway', 'BusDeliveriesRetried', { Rule: 'notify' }, 'eventbridge');
    metrics.count('Slipway', 'BusDeliveriesRetried', { Rule: 'notify' }, 'eventbridge');
    expect(metrics.series()).toMatchObject([
      {
        name: 'BusDeliveriesRetried',
        unit: 'Count',
        dimensions: { Rule: 'notify' },
        count: 2,
        sum: 2,
        source: 'eventbridge',
      },
    ]);
    expect(metrics.documents()).toEqual([]);
  });

  it('ignores log lines that are not EMF documents', () => {
    const metrics = createMetricsCollector();
    expect(metrics.ingest(line({ level: 'INFO', message: 'hello', _aws: 'not a directive' }))).toBe(false);
    expect(metrics.ingest('{"_aws": ')).toBe(false);
    expect(metrics.ingest('plain text "_aws"')).toBe(false);
    expect(metrics.series()).toEqual([]);
  });

  it('reads EMF lines off stdout, keeps them off a quiet terminal, and lets every other line through', () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const metrics = createMetricsCollector();
    const untap = metrics.tapStdout(false);
    try {
      process.stdout.write(`${emf([{ Name: 'ApprovalsExpired', Unit: 'Count' }], [[]], { ApprovalsExpired: 1 })}\n`);
      process.stdout.write('{"level":"INFO","message":"not a metric"}\n');
    } finally {
      untap();
    }
    expect(written).toEqual(['{"level":"INFO","message":"not a metric"}\n']);
    expect(metrics.series()).toMatchObject([{ name: 'ApprovalsExpired', dimensions: {}, last: 1 }]);
  });
});
