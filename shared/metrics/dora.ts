/**
 * `GET /metrics/dora`: the four DORA metrics of a project or an application (optionally one
 * environment) over a day range, from the daily counters (ADR 29): one Query per application,
 * at most 366 items per environment, never a Scan.
 */

import type { Caller } from '../auth/caller.ts';
import { readAccessOnly } from '../auth/principal.ts';
import { appScope, envScope, projectScope } from '../auth/scope.ts';
import { config } from '../config.ts';
import {
  COUNT_FIELDS,
  type DayCounts,
  type DoraQuery,
  dayRange,
  doraReport,
  MAX_RANGE_DAYS,
  sumCounts,
} from '../domain/dora.ts';
import { invalid, notFound } from '../errors.ts';
import { byParent, keys } from '../store/keys.ts';
import { type Item, queryAll } from '../store/table.ts';
import { doraKeys } from './counters.ts';

export type DoraReport = Awaited<ReturnType<typeof doraMetricsFor>>;

export async function doraMetricsFor(caller: Caller, q: DoraQuery) {
  const range = checkedRange(q);
  const { projectId, appIds, name } = await readableScope(caller, q);
  const daily = new Map<string, DayCounts>();
  const pages = await Promise.all(
    appIds.map((appId) =>
      queryAll({ partition: doraKeys.partition(appId), between: doraKeys.dayRange(range.from, range.to) }),
    ),
  );
  for (const item of pages.flat()) {
    if (q.env && item.env !== q.env) continue;
    const day = item.day as string;
    daily.set(day, sumCounts([daily.get(day) ?? {}, countsOf(item)]));
  }
  return {
    project_id: projectId,
    ...(q.app_id ? { app_id: q.app_id } : {}),
    name,
    ...(q.env ? { env: q.env } : {}),
    from: range.from,
    to: range.to,
    interval: q.interval,
    rollback_window_hours: config.doraRollbackWindowHours,
    ...doraReport(daily, range, q.interval),
  };
}

const countsOf = (item: Item): Partial<DayCounts> =>
  Object.fromEntries(COUNT_FIELDS.map((f) => [f, Number(item[f] ?? 0)]));

/** Refused before any read: a range backwards or over a year. */
function checkedRange(q: DoraQuery) {
  const range = dayRange(q);
  if (range.days < 1) {
    throw invalid('from must not be after to.', [{ name: 'from', reason: `${range.from} is after ${range.to}` }]);
  }
  if (range.days > MAX_RANGE_DAYS) {
    throw invalid(`The range may span at most ${MAX_RANGE_DAYS} days.`, [
      { name: 'to', reason: `${range.days} days from ${range.from}` },
    ]);
  }
  return range;
}

/**
 * The applications to read and the project they are in, once the caller may read their metrics
 * (an app and a project both given must match). Unreadable is missing (404), as elsewhere.
 */
async function readableScope(
  caller: Caller,
  q: DoraQuery,
): Promise<{ projectId: string; appIds: string[]; name: string }> {
  if (q.app_id) {
    const { access, items } = await readAccessOnly(caller, [keys.app(q.app_id)]);
    const app = items[0];
    const projectId = app?.project_id as string | undefined;
    if (!app || !projectId) throw notFound('Application');
    const scope = q.env ? envScope(projectId, q.app_id, q.env) : appScope(projectId, q.app_id);
    access.require('metrics.read', scope, 'app.read', 'Application');
    if (q.project_id && q.project_id !== projectId) {
      throw invalid('app_id names an application of another project than project_id.', [
        { name: 'project_id', reason: 'does not match the application' },
      ]);
    }
    return { projectId, appIds: [q.app_id], name: app.name as string };
  }
  if (!q.project_id) {
    throw invalid('Name a project_id or an app_id.', [{ name: 'project_id', reason: 'missing (or app_id)' }]);
  }
  const { access, items } = await readAccessOnly(caller, [keys.project(q.project_id)]);
  const project = items[0];
  if (!project) throw notFound('Project');
  access.require('metrics.read', projectScope(q.project_id), 'project.read', 'Project');
  const apps = await queryAll({ index: 'GSI2', partition: byParent.appsOfProject(q.project_id) });
  return { projectId: q.project_id, appIds: apps.map((a) => a.id as string), name: project.name as string };
}
