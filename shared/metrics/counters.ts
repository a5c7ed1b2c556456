/**
 * The DORA daily counters (ADR 29): one item per (app, environment, UTC day), added to in the same
 * transaction that records a deployment's end, and one item per environment holding when its
 * unrecovered failure began. A year of one environment is at most 366 items, read by one Query.
 */
import { config } from '../config.ts';
import { COUNT_FIELDS, counterChange, type DayCounts, type FinishedDeployment } from '../domain/dora.ts';
import { busy } from '../errors.ts';
import type { Item, Key, Write } from '../store/table.ts';

export const doraKeys = {
  partition: (appId: string) => `DORA#${appId}`,
  /** Environment names are DNS labels (no `#`), so a day range is one sort key range. */
  day: (appId: string, day: string, env: string): Key => ({ PK: `DORA#${appId}`, SK: `DAY#${day}#${env}` }),
  dayRange: (from: string, to: string) => [`DAY#${from}#`, `DAY#${to}#~`] as const,
  openFailure: (appId: string, env: string): Key => ({ PK: `DORA#${appId}`, SK: `OPEN#${env}` }),
};

/** What the counters need of a deployment (shared/delivery owns the full record; it calls in here). */
export interface CountedDeployment {
  kind: 'deploy' | 'rollback';
  project_id: string;
  app_id: string;
  env: string;
  commit?: { committed_at: string } | undefined;
}

/** The counters never refuse a write (no condition): a failure here is the transaction's own. */
const counterBusy = () => busy('dora-counters', 'The delivery counters were being changed; retry.');

/**
 * The writes that count a deployment ending `outcome` at `at`, given its environment's release head
 * and open-failure item as read before this transaction.
 */
export function doraWrites(
  deployment: CountedDeployment,
  outcome: FinishedDeployment['outcome'],
  at: string,
  head: Item | undefined,
  open: Item | undefined,
): Write[] {
  // The release live before this one: what a rollback replaces.
  const current = head?.current as FinishedDeployment['replaced'];
  const change = counterChange({
    kind: deployment.kind,
    outcome,
    at,
    committed_at: deployment.commit?.committed_at,
    failing_since: open?.failing_since as string | undefined,
    replaced: current && { kind: current.kind, deployed_at: current.deployed_at },
    window_ms: config.doraRollbackWindowHours * 3_600_000,
  });
  const { app_id: appId, env } = deployment;
  const writes: Write[] = [...change.days].map(([day, counts]) => addTo(deployment, day, counts));
  const openKey = doraKeys.openFailure(appId, env);
  if (change.failing_since === null && open) writes.push({ delete: openKey, onFail: counterBusy });
  if (change.failing_since !== null && change.failing_since !== open?.failing_since) {
    writes.push({ put: { ...openKey, app_id: appId, env, failing_since: change.failing_since }, onFail: counterBusy });
  }
  return writes;
}

/** One day's item: created on first use, its numbers added to (ADD is atomic and order-free). */
function addTo(d: CountedDeployment, day: string, counts: Partial<DayCounts>): Write {
  const names: Record<string, string> = { '#project': 'project_id', '#app': 'app_id', '#env': 'env', '#day': 'day' };
  const values: Record<string, unknown> = { ':project': d.project_id, ':app': d.app_id, ':env': d.env, ':day': day };
  const adds = COUNT_FIELDS.filter((f) => counts[f] !== undefined).map((f, i) => {
    names[`#c${i}`] = f;
    values[`:c${i}`] = counts[f];
    return `#c${i} :c${i}`;
  });
  return {
    update: doraKeys.day(d.app_id, day, d.env),
    set: `SET #project = :project, #app = :app, #env = :env, #day = :day ADD ${adds.join(', ')}`,
    names,
    values,
    onFail: counterBusy,
  };
}
