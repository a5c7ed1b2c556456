/**
 * `GET /environments`: every environment the caller may read, across apps, with what runs there,
 * its freezes and its next scheduled fire: the release calendar at a glance. The list reads the
 * environment index (ADR 20) only in the ranges the caller's grants cover; a page then costs one
 * BatchGetItem (apps, clusters, release heads, the freeze rules) and one Query per app (schedules).
 */
import type { Access } from '../auth/access.ts';
import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { envScope, PLATFORM, type ScopePath } from '../auth/scope.ts';
import { calendarKeys } from '../calendar/keys.ts';
import { type EnvOutlook, envOutlook, freezeRulesOf, nextFiresByEnv } from '../calendar/outlook.ts';
import { deliveryKeys } from '../delivery/keys.ts';
import type { Release } from '../delivery/releases.ts';
import type { EnvTier } from '../domain/environment.ts';
import { byKind, byParent, envListing, keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { getMany, type Item, type Key, queryRangesPage } from '../store/table.ts';
import { envView } from './environments.ts';

export interface EnvironmentFilter {
  projectId?: string;
  clusterId?: string;
  tier?: EnvTier;
}

export type EnvironmentRow = {
  app: { id: string; name: string };
  project_id: string;
  name: string;
  cluster: { id: string; name: string | null };
  namespace: string;
  tier: EnvTier;
  current_release: Release | null;
} & EnvOutlook;

export async function listEnvironments(
  caller: Caller,
  filter: EnvironmentFilter,
  page: PageRequest,
): Promise<Page<EnvironmentRow>> {
  const { access } = await signInAndRead(caller);
  const prefixes = readablePrefixes(access, filter.projectId);
  if (prefixes.length === 0) return { items: [], next_cursor: null };
  const result = await queryRangesPage({
    // One cluster's environments have their own partition (GSI2): its list reads nothing else.
    ...(filter.clusterId
      ? { index: 'GSI2', partition: byParent.envsOfCluster(filter.clusterId) }
      : { index: 'GSI1', partition: byKind.env }),
    prefixes,
    list: ['environments', filter.projectId ?? '', filter.tier ?? ''],
    page,
    keep: (item) =>
      access.can('env.read', envScope(item.project_id, item.app_id, item.name)) &&
      (!filter.tier || envView(item).tier === filter.tier),
    sparse: filter.tier !== undefined,
  });
  return { items: await rowsOf(result.items), next_cursor: result.next_cursor };
}

/**
 * The index ranges the caller's env.read grants cover (`<project>#`, `<project>#<app>#`, an env's
 * own key), inside `projectId` when given. The list still checks each row: a range may hold more.
 */
function readablePrefixes(access: Access, projectId: string | undefined): string[] {
  const within = projectId === undefined ? '' : `${projectId}#`;
  return access
    .scopesAllowing('env.read')
    .map(prefixOf)
    .flatMap((prefix) => {
      if (prefix.startsWith(within)) return [prefix];
      return within.startsWith(prefix) ? [within] : [];
    });
}

/** `project/p/app/a/env/e` → `p#a#e`; the platform is the whole index. */
function prefixOf(scope: ScopePath): string {
  if (scope === PLATFORM) return '';
  const [, project = '', , app, , env] = scope.split('/');
  return app === undefined ? `${project}#` : envListing(project, app, env);
}

/** Everything the rows show besides the environment: one BatchGetItem and the apps' schedules. */
async function rowsOf(envs: Item[]): Promise<EnvironmentRow[]> {
  if (envs.length === 0) return [];
  const now = new Date();
  const related: Key[] = envs.flatMap((env) => [
    keys.app(env.app_id),
    keys.cluster(env.cluster_id),
    deliveryKeys.releaseHead(env.app_id, env.name),
  ]);
  const [[rules, ...found], fires] = await Promise.all([
    getMany([calendarKeys.freezeRules(), ...related]),
    nextFiresByEnv(
      envs.map((env) => env.app_id as string),
      now,
    ),
  ]);
  const freezeRules = freezeRulesOf(rules);
  return envs.map((item, i) => {
    const [app, cluster, head] = found.slice(i * 3, i * 3 + 3);
    const env = envView(item);
    return {
      app: { id: env.app_id, name: (app?.name as string | undefined) ?? '' },
      project_id: env.project_id,
      name: env.name,
      cluster: { id: env.cluster_id, name: (cluster?.name as string | undefined) ?? null },
      namespace: env.namespace,
      tier: env.tier,
      current_release: (head?.current as Release | undefined) ?? null,
      ...envOutlook(env, freezeRules, fires, now),
    };
  });
}
