/**
 * The four DORA metrics, computed without I/O: what one finished deployment adds to its
 * environment's daily counters (ADR 29), and how counters over a range become the four numbers,
 * per period and in all, each with its performance band.
 */
import * as z from 'zod/mini';
import { dnsLabel, resourceId } from './fields.ts';

/** One environment's tallies for one UTC day: sums and counts, so any range adds them up. */
export interface DayCounts {
  /** Deploys (not rollbacks) that reached the cluster and ended: the change failure rate's denominator. */
  deployments: number;
  succeeded: number;
  failed: number;
  rolled_back: number;
  /** Deploys of this day that succeeded and were then replaced by a rollback within the window. */
  rolled_back_later: number;
  /** Commit → successful deploy, summed over the deploys that named their commit. */
  lead_time_ms: number;
  lead_time_count: number;
  /** Failed or rolled-back deployment → the next success in the environment, summed over recoveries ending this day. */
  recovery_ms: number;
  recovery_count: number;
}

export const COUNT_FIELDS = [
  'deployments',
  'succeeded',
  'failed',
  'rolled_back',
  'rolled_back_later',
  'lead_time_ms',
  'lead_time_count',
  'recovery_ms',
  'recovery_count',
] as const satisfies readonly (keyof DayCounts)[];

export const emptyCounts = (): DayCounts => Object.fromEntries(COUNT_FIELDS.map((f) => [f, 0])) as unknown as DayCounts;

/** The UTC day of an instant, `YYYY-MM-DD`: the counters' key. */
export const dayOf = (instant: string) => new Date(instant).toISOString().slice(0, 10);

/** What a deployment that reached the cluster looks like when it ends. */
export interface FinishedDeployment {
  kind: 'deploy' | 'rollback';
  outcome: 'succeeded' | 'failed' | 'rolled_back';
  /** When it ended. */
  at: string;
  committed_at?: string | undefined;
  /** When the environment's unrecovered failure began, if one is open. */
  failing_since?: string | undefined;
  /** For a rollback: the release it replaces (the environment's current one). */
  replaced?: { kind: 'deploy' | 'rollback'; deployed_at: string } | undefined;
  /** How soon after a deploy a rollback away from it makes it a change failure. */
  window_ms: number;
}

export interface CounterChange {
  /** What to add, per day. */
  days: Map<string, Partial<DayCounts>>;
  /** The environment's open failure afterwards: a start time, or null when it has recovered. */
  failing_since: string | null;
}

/** What one finished deployment adds to the counters, and where it leaves the environment's open failure. */
export function counterChange(d: FinishedDeployment): CounterChange {
  const days = new Map<string, Partial<DayCounts>>();
  const add = (day: string, field: keyof DayCounts, n = 1) => {
    const counts = days.get(day) ?? {};
    counts[field] = (counts[field] ?? 0) + n;
    days.set(day, counts);
  };
  const today = dayOf(d.at);
  const at = Date.parse(d.at);
  if (d.kind === 'deploy') {
    add(today, 'deployments');
    add(today, d.outcome);
    if (d.outcome === 'succeeded' && d.committed_at) {
      add(today, 'lead_time_ms', Math.max(0, at - Date.parse(d.committed_at)));
      add(today, 'lead_time_count');
    }
  }
  if (d.outcome !== 'succeeded') return { days, failing_since: d.failing_since ?? d.at };

  // A rollback soon after a deploy says that deploy failed, though its rollout went well.
  const replaced = d.replaced;
  const regretted =
    d.kind === 'rollback' &&
    replaced?.kind === 'deploy' &&
    at - Date.parse(replaced.deployed_at) <= d.window_ms &&
    replaced.deployed_at;
  if (regretted) add(dayOf(regretted), 'rolled_back_later');
  const starts = [d.failing_since, regretted || undefined].filter((s): s is string => s !== undefined);
  if (starts.length > 0) {
    add(today, 'recovery_ms', Math.max(0, at - Math.min(...starts.map(Date.parse))));
    add(today, 'recovery_count');
  }
  return { days, failing_since: null };
}

// ---- Reading: the query, periods, metrics and bands ----

export const INTERVALS = ['day', 'week', 'month'] as const;
export type Interval = (typeof INTERVALS)[number];
/** The longest range one request reads: a year's daily counters per environment. */
export const MAX_RANGE_DAYS = 366;
const DAY_MS = 86_400_000;

const isoDate = z.iso.date();

/** `GET /metrics/dora` query: a project or an app (or both, if they match), optionally one env. */
export const doraQuery = z.strictObject({
  project_id: z.optional(resourceId('prj')),
  app_id: z.optional(resourceId('app')),
  env: z.optional(dnsLabel),
  from: z.optional(isoDate),
  to: z.optional(isoDate),
  interval: z._default(z.enum(INTERVALS), 'day'),
});
export type DoraQuery = z.infer<typeof doraQuery>;

/** The inclusive UTC day range asked for: by default the 30 days up to today. */
export function dayRange(q: Pick<DoraQuery, 'from' | 'to'>, today = new Date()) {
  const to = q.to ?? today.toISOString().slice(0, 10);
  const from = q.from ?? new Date(Date.parse(to) - 29 * DAY_MS).toISOString().slice(0, 10);
  const days = Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS) + 1;
  return { from, to, days };
}

/** The first day of the period holding `day`: itself, its ISO week's Monday, or its month's first. */
export function periodStart(day: string, interval: Interval): string {
  if (interval === 'day') return day;
  if (interval === 'month') return `${day.slice(0, 7)}-01`;
  const t = Date.parse(day);
  const weekday = (new Date(t).getUTCDay() + 6) % 7; // Monday 0
  return new Date(t - weekday * DAY_MS).toISOString().slice(0, 10);
}

/** Every period start in the range, in order (the first may begin before `from`). */
export function periodStarts(from: string, to: string, interval: Interval): string[] {
  const starts: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += DAY_MS) {
    const start = periodStart(new Date(t).toISOString().slice(0, 10), interval);
    if (starts.at(-1) !== start) starts.push(start);
  }
  return starts;
}

export type Band = 'elite' | 'high' | 'medium' | 'low';

/**
 * The performance clusters of the DORA research program's Accelerate State of DevOps Report 2023
 * (Google Cloud, https://dora.dev/research/2023/dora-report/, "Software delivery performance"
 * table), turned into thresholds at the cluster boundaries:
 * - deployment frequency: elite on demand (at least daily), high between daily and weekly,
 *   medium between weekly and monthly, low less often;
 * - lead time for changes: elite under a day, high under a week, medium under a month, low longer;
 * - change failure rate: elite 5 %, high 10 %, medium 15 %, low above (the report's low is 64 %);
 * - failed deployment recovery time: elite under an hour, high under a day, medium under a week,
 *   low longer.
 * A band needs data: with nothing to measure, the band is null.
 */
export const BANDS = {
  deploymentsPerDay: [1, 1 / 7, 1 / 30],
  leadTimeMs: [DAY_MS, 7 * DAY_MS, 30 * DAY_MS],
  changeFailureRate: [0.05, 0.1, 0.15],
  recoveryMs: [3_600_000, DAY_MS, 7 * DAY_MS],
} as const;

const ORDER: Band[] = ['elite', 'high', 'medium', 'low'];
const bandAt = (i: number) => ORDER[i === -1 ? 3 : i] as Band;
/** Higher is better (frequency): the first threshold reached. */
const bandAtLeast = (value: number, limits: readonly number[]) => bandAt(limits.findIndex((l) => value >= l));
/** Lower is better: the first threshold not exceeded (below, or at most for a rate). */
const bandBelow = (value: number, limits: readonly number[], inclusive = false) =>
  bandAt(limits.findIndex((l) => (inclusive ? value <= l : value < l)));

export interface DoraMetrics {
  deployment_frequency: { deployments: number; per_day: number; band: Band | null };
  lead_time_for_changes: { mean_seconds: number | null; changes: number; band: Band | null };
  change_failure_rate: { rate: number | null; failures: number; deployments: number; band: Band | null };
  failed_deployment_recovery_time: { mean_seconds: number | null; recoveries: number; band: Band | null };
}

export const sumCounts = (all: Iterable<Partial<DayCounts>>): DayCounts => {
  const total = emptyCounts();
  for (const c of all) for (const f of COUNT_FIELDS) total[f] += Number(c[f] ?? 0);
  return total;
};

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The four metrics of counters summed over `days` days. */
export function doraMetrics(c: DayCounts, days: number): DoraMetrics {
  const perDay = c.succeeded / days;
  const failures = c.failed + c.rolled_back + c.rolled_back_later;
  const rate = c.deployments > 0 ? failures / c.deployments : null;
  const leadMs = c.lead_time_count > 0 ? c.lead_time_ms / c.lead_time_count : null;
  const recoveryMs = c.recovery_count > 0 ? c.recovery_ms / c.recovery_count : null;
  return {
    deployment_frequency: {
      deployments: c.succeeded,
      per_day: round(perDay, 4),
      // No deployment at all is no evidence of a band, like the other three without data.
      band: c.deployments > 0 ? bandAtLeast(perDay, BANDS.deploymentsPerDay) : null,
    },
    lead_time_for_changes: {
      mean_seconds: leadMs === null ? null : round(leadMs / 1000, 3),
      changes: c.lead_time_count,
      band: leadMs === null ? null : bandBelow(leadMs, BANDS.leadTimeMs),
    },
    change_failure_rate: {
      rate: rate === null ? null : round(rate, 4),
      failures,
      deployments: c.deployments,
      band: rate === null ? null : bandBelow(rate, BANDS.changeFailureRate, true),
    },
    failed_deployment_recovery_time: {
      mean_seconds: recoveryMs === null ? null : round(recoveryMs / 1000, 3),
      recoveries: c.recovery_count,
      band: recoveryMs === null ? null : bandBelow(recoveryMs, BANDS.recoveryMs),
    },
  };
}

export interface DoraPeriod extends DoraMetrics {
  start: string;
  days: number;
}

/** Daily counters (`day` → counts, environments already added up) as the four metrics, per period and in all. */
export function doraReport(
  daily: ReadonlyMap<string, DayCounts>,
  range: { from: string; to: string; days: number },
  interval: Interval,
) {
  const byPeriod = new Map<string, DayCounts[]>();
  const daysIn = new Map<string, number>();
  for (let t = Date.parse(range.from); t <= Date.parse(range.to); t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10);
    const start = periodStart(day, interval);
    daysIn.set(start, (daysIn.get(start) ?? 0) + 1);
    const counts = daily.get(day);
    byPeriod.set(start, [...(byPeriod.get(start) ?? []), ...(counts ? [counts] : [])]);
  }
  const series: DoraPeriod[] = periodStarts(range.from, range.to, interval).map((start) => {
    const days = daysIn.get(start) ?? 1;
    return { start, days, ...doraMetrics(sumCounts(byPeriod.get(start) ?? []), days) };
  });
  return { metrics: doraMetrics(sumCounts(daily.values()), range.days), series };
}
