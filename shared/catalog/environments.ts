import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { appScope, envScope } from '../auth/scope.ts';
import { calendarKeys } from '../calendar/keys.ts';
import { type EnvOutlook, envOutlook, freezeRulesOf, nextFiresByEnv } from '../calendar/outlook.ts';
import { deliveryKeys } from '../delivery/keys.ts';
import type { Release } from '../delivery/releases.ts';
import type { EnvView } from '../domain/environment.ts';
import { defaultProtection, envChanges, inferTier, type NewEnv } from '../domain/environment.ts';
import { mergePatch, pick } from '../domain/merge-patch.ts';
import { validate } from '../domain/validate.ts';
import { notFound, unprocessable } from '../errors.ts';
import type { ChangeEventData, ChangeEventType } from '../events/catalog.ts';
import { recordChange } from '../events/outbox.ts';
import { byKind, byParent, envListing, keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { countChild, createRecord, deleteRecord, present, replaceRecord, stamp } from '../store/records.ts';
import { type AlsoCommit, commit, type Item, type Key, queryPage, type Write } from '../store/table.ts';
import { changedFields } from './changes.ts';
import { claimNamespace, type Placement, releaseNamespace } from './namespaces.ts';

export type { EnvView };

const CHANGEABLE = Object.keys(envChanges.shape);
const what = 'Environment';

/** An environment as shown: one stored before tiers existed gets the tier its name suggests. */
export const envView = (item: Item): EnvView => {
  const view = present<EnvView>(item);
  return { ...view, tier: view.tier ?? inferTier(view.name) };
};

/**
 * Where an environment is listed across apps (GET /environments): every one on GSI1, and those of
 * one cluster on GSI2, both sorted by project, app and name (ADR 20).
 */
const envIndexes = (projectId: string, appId: string, name: string, clusterId: string) => ({
  GSI1PK: byKind.env,
  GSI1SK: envListing(projectId, appId, name),
  GSI2PK: byParent.envsOfCluster(clusterId),
  GSI2SK: envListing(projectId, appId, name),
});

/** The promotion path: environments sorted by `order` (dev, staging, prod), one Query per page. */
export async function listEnvs(caller: Caller, appId: string, page: PageRequest): Promise<Page<EnvView>> {
  const { access, items } = await signInAndRead(caller, [keys.app(appId)]);
  const app = items[0];
  if (!app) throw notFound('Application');
  access.require('env.read', appScope(app.project_id as string, appId), 'app.read', 'Application');
  const result = await queryPage({ partition: keys.app(appId).PK, prefix: 'ENV#', page });
  const envs = result.items.map(envView).sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  return { items: envs, next_cursor: result.next_cursor };
}

/**
 * One environment, with what runs there now and its calendar (freezes, next fire): its release
 * head and the freeze rules ride in the same BatchGetItem; its schedules are one Query.
 */
export async function getEnv(
  caller: Caller,
  appId: string,
  name: string,
): Promise<EnvView & { current_release: Release | null } & EnvOutlook> {
  const { env, extra } = await readEnv(caller, appId, name, 'env.read', [
    deliveryKeys.releaseHead(appId, name),
    calendarKeys.freezeRules(),
  ]);
  const [head, rules] = extra;
  const now = new Date();
  const view = envView(env);
  const fires = await nextFiresByEnv([appId], now, name);
  return {
    ...view,
    current_release: (head?.current as Release | undefined) ?? null,
    ...envOutlook(view, freezeRulesOf(rules), fires, now),
  };
}

/**
 * The cluster must exist: its environment counter is bumped in the same transaction, which also
 * claims the namespace on that cluster for the app's project (ADR 12).
 */
export async function createEnv(
  caller: Caller,
  appId: string,
  input: NewEnv,
  alsoCommit: AlsoCommit<EnvView>,
): Promise<EnvView> {
  const { access, items } = await signInAndRead(caller, [keys.app(appId)]);
  const app = items[0];
  if (!app) throw notFound('Application');
  const projectId = app.project_id as string;
  access.require('env.create', appScope(projectId, appId), 'app.read', 'Application');
  const item = {
    ...keys.env(appId, input.name),
    ...envIndexes(projectId, appId, input.name, input.cluster_id),
    ...stamp(input.name, caller, {
      ...input,
      app_id: appId,
      project_id: projectId,
      protection: input.protection ?? defaultProtection,
      order: input.order ?? 0,
      tier: input.tier ?? inferTier(input.name),
    }),
  };
  const view = envView(item);
  await commit([
    createRecord(item, `Environment ${input.name}`),
    countChild(keys.app(appId), '_envs', 1, 'Application'),
    useCluster(input.cluster_id, 1),
    ...claimNamespace(input, { projectId, appId, env: input.name }),
    ...approverTeamRefs(input.protection?.approver_teams ?? [], []),
    envChange(caller, 'Environment Created', view, view),
    ...alsoCommit(view),
  ]);
  return view;
}

export async function updateEnv(
  caller: Caller,
  appId: string,
  name: string,
  patch: unknown,
  expected: number,
): Promise<EnvView> {
  const { env } = await readEnv(caller, appId, name, 'env.update');
  const next = validate(envChanges, mergePatch(pick(env, CHANGEABLE), patch));
  const projectId = env.project_id as string;
  // Indexed again on every write: a moved cluster moves it on GSI2, and one stored before the index gets it.
  const { item, write } = replaceRecord(
    env,
    { ...next, tier: next.tier ?? inferTier(name), ...envIndexes(projectId, appId, name, next.cluster_id) },
    expected,
    what,
  );
  const otherCluster = next.cluster_id !== env.cluster_id;
  const moved = otherCluster || next.namespace !== env.namespace;
  const user = { projectId, appId, env: name };
  const view = envView(item);
  await commit([
    write,
    ...(otherCluster ? [useCluster(next.cluster_id, 1), useCluster(env.cluster_id as string, -1)] : []),
    ...(moved ? [...(await releaseNamespace(env as Placement, user)), ...claimNamespace(next, user)] : []),
    ...approverTeamRefs(next.protection.approver_teams, approversOf(env)),
    envChange(caller, 'Environment Updated', view, { ...view, changes: changedFields(env, item, CHANGEABLE) }),
  ]);
  return view;
}

export async function deleteEnv(caller: Caller, appId: string, name: string, expected: number): Promise<void> {
  const { env } = await readEnv(caller, appId, name, 'env.delete');
  await commit([
    deleteRecord(keys.env(appId, name), expected, what),
    countChild(keys.app(appId), '_envs', -1, 'Application'),
    useCluster(env.cluster_id as string, -1),
    ...(await releaseNamespace(env as Placement, { appId, env: name })),
    ...approverTeamRefs([], approversOf(env)),
    envChange(caller, 'Environment Deleted', envView(env), { id: name, app_id: appId }),
  ]);
}

/** Environments are named within their app: the subject names both. */
const envChange = <Type extends Extract<ChangeEventType, `Environment ${string}`>>(
  caller: Caller,
  type: Type,
  env: EnvView,
  data: ChangeEventData<Type>,
) =>
  recordChange(caller, {
    type,
    subject: `env/${env.app_id}/${env.name}`,
    project_id: env.project_id,
    data,
  });

/** The teams an environment names as approvers. */
const approversOf = (env: Item): string[] => (env.protection as { approver_teams: string[] }).approver_teams;

/**
 * Teams named as approvers must exist, and count the environments naming them, so a team in use
 * cannot be deleted (like clusters). Both happen inside the environment write's transaction.
 */
function approverTeamRefs(now: readonly string[], before: readonly string[]): Write[] {
  const added = now.filter((team) => !before.includes(team));
  const removed = before.filter((team) => !now.includes(team));
  return [
    ...added.map((teamId) => ({
      ...countChild(keys.team(teamId), '_approverOf', 1, 'Team'),
      onFail: () => unprocessable('unknown-team', `Approver team ${teamId} does not exist.`),
    })),
    ...removed.map((teamId) => countChild(keys.team(teamId), '_approverOf', -1, 'Team')),
  ];
}

/** Counts the environments placed on a cluster, so a cluster in use cannot be deleted. */
const useCluster = (clusterId: string, delta: 1 | -1): Write => ({
  ...countChild(keys.cluster(clusterId), '_envs', delta, 'Cluster'),
  onFail: () => unprocessable('unknown-cluster', `Cluster ${clusterId} does not exist.`),
});

async function readEnv(
  caller: Caller,
  appId: string,
  name: string,
  permission: 'env.read' | 'env.update' | 'env.delete',
  extraKeys: Key[] = [],
) {
  const { access, items } = await signInAndRead(caller, [keys.app(appId), keys.env(appId, name), ...extraKeys]);
  const [app, env, ...extra] = items;
  if (!app) throw notFound('Application');
  const scope = envScope(app.project_id as string, appId, name);
  if (!env) {
    access.require('env.read', scope, 'env.read', what);
    throw notFound(what);
  }
  access.require(permission, scope, 'env.read', what);
  return { access, env, extra };
}
