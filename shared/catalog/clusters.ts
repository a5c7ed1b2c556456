import type { Caller } from '../auth/caller.ts';
import { readWithAccess } from '../auth/principal.ts';
import { PLATFORM } from '../auth/scope.ts';
import type { ClusterView } from '../domain/cluster.ts';
import { clusterChanges, type NewCluster } from '../domain/cluster.ts';
import { mergePatch, pick } from '../domain/merge-patch.ts';
import { validate } from '../domain/validate.ts';
import { forbidden, notFound } from '../errors.ts';
import type { ChangeEventData, ChangeEventType } from '../events/catalog.ts';
import { recordChange } from '../events/outbox.ts';
import { newId } from '../store/ids.ts';
import { byKind, keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { claimName, createRecord, deleteRecord, present, releaseName, replaceRecord, stamp } from '../store/records.ts';
import { type AlsoCommit, commit, type Item, queryPage } from '../store/table.ts';
import { changedFields } from './changes.ts';

export type { ClusterView };

const CHANGEABLE = Object.keys(clusterChanges.shape);
const what = 'Cluster';

export function clusterView(item: Item): ClusterView {
  const view = present<ClusterView>(item);
  const { auth } = view;
  if (auth.mode === 'token') return { ...view, auth: { mode: 'token', token_configured: true } };
  if (auth.mode === 'kubeconfig') {
    const context = auth.context === undefined ? {} : { context: auth.context };
    return { ...view, auth: { mode: 'kubeconfig', kubeconfig_configured: true, ...context } };
  }
  return view;
}

/** Clusters are shared infrastructure: anyone holding cluster.read anywhere may see them. */
export async function listClusters(caller: Caller, page: PageRequest): Promise<Page<ClusterView>> {
  const { access } = await readWithAccess(caller);
  if (!access.canAnywhere('cluster.read')) throw forbidden('You need a role binding to see clusters.');
  const result = await queryPage({ index: 'GSI1', partition: byKind.cluster, page });
  return { items: result.items.map(clusterView), next_cursor: result.next_cursor };
}

export async function getCluster(caller: Caller, id: string): Promise<ClusterView> {
  const { access, items } = await readWithAccess(caller, [keys.cluster(id)]);
  if (!items[0] || !access.canAnywhere('cluster.read')) throw notFound(what);
  return clusterView(items[0]);
}

export async function createCluster(
  caller: Caller,
  input: NewCluster,
  alsoCommit: AlsoCommit<ClusterView>,
): Promise<ClusterView> {
  const { access } = await readWithAccess(caller);
  access.requireOn('cluster.create', PLATFORM);
  const id = newId('cls');
  const item = {
    ...keys.cluster(id),
    GSI1PK: byKind.cluster,
    GSI1SK: `${input.name}#${id}`,
    _envs: 0,
    ...stamp(id, caller, input),
  };
  const view = clusterView(item);
  await commit([
    claimName(keys.clusterName(input.name), id, `Cluster name ${input.name}`),
    createRecord(item, what),
    clusterChange(caller, 'Cluster Created', id, view),
    ...alsoCommit(view),
  ]);
  return view;
}

/** A patch replaces `auth` whole: its secret reference cannot be read back to merge with. */
export async function updateCluster(
  caller: Caller,
  id: string,
  patch: unknown,
  expected: number,
): Promise<ClusterView> {
  const cluster = await readForChange(caller, id, 'cluster.update');
  const next = validate(clusterChanges, mergePatch(pick(cluster, CHANGEABLE), patch, ['auth']));
  const { item, write } = replaceRecord(cluster, next, expected, what);
  const view = clusterView(item);
  await commit([
    write,
    clusterChange(caller, 'Cluster Updated', id, { ...view, changes: changedFields(cluster, item, CHANGEABLE) }),
  ]);
  return view;
}

/** Refused (409) while environments are placed on the cluster. */
export async function deleteCluster(caller: Caller, id: string, expected: number): Promise<void> {
  const cluster = await readForChange(caller, id, 'cluster.delete');
  await commit([
    deleteRecord(keys.cluster(id), expected, what, { attr: '_envs', children: 'environments placed on it' }),
    releaseName(keys.clusterName(cluster.name as string)),
    clusterChange(caller, 'Cluster Deleted', id, { id }),
  ]);
}

/** Clusters are platform objects (no project); their data is the view, so the token's secret reference stays out. */
const clusterChange = <Type extends Extract<ChangeEventType, `Cluster ${string}`>>(
  caller: Caller,
  type: Type,
  id: string,
  data: ChangeEventData<Type>,
) => recordChange(caller, { type, subject: `cluster/${id}`, data });

async function readForChange(
  caller: Caller,
  id: string,
  permission: 'cluster.update' | 'cluster.delete',
): Promise<Item> {
  const { access, items } = await readWithAccess(caller, [keys.cluster(id)]);
  if (!items[0] || !access.canAnywhere('cluster.read')) throw notFound(what);
  access.requireOn(permission, PLATFORM);
  return items[0];
}
