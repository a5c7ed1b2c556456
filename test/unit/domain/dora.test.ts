import { describe, expect, it } from 'vitest';
import {
  counterChange,
  type DayCounts,
  dayRange,
  doraMetrics,
  doraQuery,
  doraReport,
  emptyCounts,
  type FinishedDeployment,
  periodStart,
  periodStarts,
} from '../../../shared/domain/dora.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const window_ms = 24 * HOUR;
const finished = (d: Partial<FinishedDeployment>): FinishedDeployment => ({
  kind: 'deploy',
  outcome: 'succeeded',
  at: '2026-03-10T12:00:00.000Z',
  window_ms,
  ...d,
});
const counts = (c: Partial<DayCounts>): DayCounts => ({ ...emptyCounts(), ...c });

describe('what a finished deployment adds to the daily counters', () => {
  it('a deploy that succeeds counts once, with its lead time from the commit', () => {
    const change = counterChange(finished({ committed_at: '2026-03-10T09:30:00Z' }));
    expect(Object.fromEntries(change.days)).toEqual({
      '2026-03-10': { deployments: 1, succeeded: 1, lead_time_ms: 2.5 * HOUR, lead_time_count: 1 },
    });
    expect(change.failing_since).toBeNull();
  });

  it('a deploy that rolls back is a change failure and opens a failure; an earlier open one keeps its start', () => {
    const fresh = counterChange(finished({ outcome: 'rolled_back', committed_at: '2026-03-10T09:00:00Z' }));
    expect(Object.fromEntries(fresh.days)).toEqual({ '2026-03-10': { deployments: 1, rolled_back: 1 } });
    expect(fresh.failing_since).toBe('2026-03-10T12:00:00.000Z');
    const again = counterChange(finished({ outcome: 'failed', failing_since: '2026-03-09T08:00:00Z' }));
    expect(again.failing_since).toBe('2026-03-09T08:00:00Z');
  });

  it('the next success closes an open failure: its recovery time counts on the day it recovers', () => {
    const change = counterChange(finished({ failing_since: '2026-03-09T23:00:00Z' }));
    expect(change.days.get('2026-03-10')).toMatchObject({ recovery_ms: 13 * HOUR, recovery_count: 1 });
    expect(change.failing_since).toBeNull();
  });

  it('a rollback within the window makes the deploy it replaces a failure on that deploy’s day, and recovers from it', () => {
    const change = counterChange(
      finished({ kind: 'rollback', replaced: { kind: 'deploy', deployed_at: '2026-03-09T20:00:00Z' } }),
    );
    expect(Object.fromEntries(change.days)).toEqual({
      '2026-03-09': { rolled_back_later: 1 },
      '2026-03-10': { recovery_ms: 16 * HOUR, recovery_count: 1 },
    });
  });

  it('a rollback outside the window, or away from a rollback, blames nothing; rollbacks are no deployments', () => {
    const late = counterChange(
      finished({ kind: 'rollback', replaced: { kind: 'deploy', deployed_at: '2026-03-09T11:59:59Z' } }),
    );
    expect(late.days.size).toBe(0);
    const twice = counterChange(
      finished({ kind: 'rollback', replaced: { kind: 'rollback', deployed_at: '2026-03-10T11:00:00Z' } }),
    );
    expect(twice.days.size).toBe(0);
  });

  it('a rollback recovers from the earlier of an open failure and the deploy it replaces', () => {
    const change = counterChange(
      finished({
        kind: 'rollback',
        failing_since: '2026-03-10T10:00:00Z',
        replaced: { kind: 'deploy', deployed_at: '2026-03-10T08:00:00Z' },
      }),
    );
    expect(change.days.get('2026-03-10')).toEqual({ rolled_back_later: 1, recovery_ms: 4 * HOUR, recovery_count: 1 });
  });
});

describe('the metrics and their bands', () => {
  it('computes the four numbers from summed counters', () => {
    const m = doraMetrics(
      counts({
        deployments: 10,
        succeeded: 8,
        failed: 1,
        rolled_back: 1,
        rolled_back_later: 1,
        lead_time_ms: 3 * 2 * HOUR,
        lead_time_count: 3,
        recovery_ms: 30 * 60_000 + 90 * 60_000,
        recovery_count: 2,
      }),
      4,
    );
    expect(m).toEqual({
      deployment_frequency: { deployments: 8, per_day: 2, band: 'elite' },
      lead_time_for_changes: { mean_seconds: 7200, changes: 3, band: 'elite' },
      change_failure_rate: { rate: 0.3, failures: 3, deployments: 10, band: 'low' },
      failed_deployment_recovery_time: { mean_seconds: 3600, recoveries: 2, band: 'high' },
    });
  });

  it('places the band boundaries where the 2023 report’s clusters meet', () => {
    const band = (c: Partial<DayCounts>, days = 1) => doraMetrics(counts(c), days);
    expect(band({ deployments: 1, succeeded: 1 }, 7).deployment_frequency.band).toBe('high');
    expect(band({ deployments: 1, succeeded: 1 }, 8).deployment_frequency.band).toBe('medium');
    expect(band({ deployments: 1, succeeded: 1 }, 31).deployment_frequency.band).toBe('low');
    expect(band({ lead_time_ms: DAY - 1, lead_time_count: 1 }).lead_time_for_changes.band).toBe('elite');
    expect(band({ lead_time_ms: DAY, lead_time_count: 1 }).lead_time_for_changes.band).toBe('high');
    expect(band({ lead_time_ms: 30 * DAY, lead_time_count: 1 }).lead_time_for_changes.band).toBe('low');
    expect(band({ deployments: 20, failed: 1 }).change_failure_rate.band).toBe('elite');
    expect(band({ deployments: 20, failed: 3 }).change_failure_rate.band).toBe('medium');
    expect(band({ deployments: 20, failed: 4 }).change_failure_rate.band).toBe('low');
    expect(band({ recovery_ms: HOUR - 1, recovery_count: 1 }).failed_deployment_recovery_time.band).toBe('elite');
    expect(band({ recovery_ms: 7 * DAY, recovery_count: 1 }).failed_deployment_recovery_time.band).toBe('low');
  });

  it('gives no number and no band where there is nothing to measure', () => {
    const m = doraMetrics(emptyCounts(), 30);
    expect(m.deployment_frequency).toEqual({ deployments: 0, per_day: 0, band: null });
    expect(m.lead_time_for_changes.band).toBeNull();
    expect(m.change_failure_rate).toEqual({ rate: null, failures: 0, deployments: 0, band: null });
    expect(m.failed_deployment_recovery_time.mean_seconds).toBeNull();
  });
});

describe('ranges and periods', () => {
  it('defaults to the 30 days up to today, and counts days inclusively', () => {
    expect(dayRange({}, new Date('2026-03-31T18:00:00Z'))).toEqual({ from: '2026-03-02', to: '2026-03-31', days: 30 });
    expect(dayRange({ from: '2024-01-01', to: '2024-12-31' }).days).toBe(366);
    expect(dayRange({ from: '2026-03-02', to: '2026-03-01' }).days).toBe(0);
  });

  it('starts weeks on Monday (ISO) and months on the first', () => {
    expect(periodStart('2026-03-08', 'week')).toBe('2026-03-02'); // a Sunday
    expect(periodStart('2026-03-09', 'week')).toBe('2026-03-09'); // a Monday
    expect(periodStart('2026-03-31', 'month')).toBe('2026-03-01');
    expect(periodStarts('2026-01-30', '2026-03-02', 'month')).toEqual(['2026-01-01', '2026-02-01', '2026-03-01']);
  });

  it('sums days into periods, each period’s frequency over its own days in range', () => {
    const daily = new Map([
      ['2026-03-01', counts({ deployments: 2, succeeded: 2 })],
      ['2026-03-03', counts({ deployments: 1, succeeded: 1 })],
      ['2026-03-04', counts({ deployments: 1, rolled_back: 1 })],
    ]);
    const report = doraReport(daily, { from: '2026-03-01', to: '2026-03-04', days: 4 }, 'week');
    expect(report.series.map((p) => [p.start, p.days, p.deployment_frequency.deployments])).toEqual([
      ['2026-02-23', 1, 2],
      ['2026-03-02', 3, 1],
    ]);
    expect(report.series[1]?.change_failure_rate.rate).toBe(0.5);
    expect(report.metrics.deployment_frequency).toEqual({ deployments: 3, per_day: 0.75, band: 'high' });
  });

  it('refuses an unknown interval, a date that does not exist and an unknown parameter', () => {
    expect(doraQuery.safeParse({ interval: 'year' }).success).toBe(false);
    expect(doraQuery.safeParse({ from: '2026-02-30' }).success).toBe(false);
    expect(doraQuery.safeParse({ since: '2026-02-01' }).success).toBe(false);
    expect(doraQuery.parse({ app_id: undefined })).toEqual({ interval: 'day' });
  });
});
