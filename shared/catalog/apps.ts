import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { appScope, PLATFORM, projectScope } from '../auth/scope.ts';
import type { AppView } from '../domain/app.ts';
import { type AppChanges, appChanges, type NewApp } from '../domain/app.ts';
import { mergePatch, pick } from '../domain/merge-patch.ts';
import { validate } from '../domain/validate.ts';
import { invalid, notFound, unprocessable } from '../errors.ts';
import type { ChangeEventData, ChangeEventType } from '../events/catalog.ts';
import { recordChange } from '../events/outbox.ts';
import { newId } from '../store/ids.ts';
import { byKind, byParent, keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import {
  claimName,
  countChild,
  createRecord,
  deleteRecord,
  present,
  releaseName,
  replaceRecord,
  stamp,
} from '../store/records.ts';
import { type AlsoCommit, commit, type Item, queryPage, type Write } from '../store/table.ts';
import { changedFields } from './changes.ts';

export type { AppView };

const CHANGEABLE = Object.keys(appChanges.shape);
const what = 'Application';

/** An app as shown and as told in events: the provider token's secret reference is never returned. */
export function appView(item: Item): AppView {
  const view = present<AppView & { repository: { status_token_secret_arn?: string } }>(item);
  const { status_token_secret_arn: tokenArn, ...repository } = view.repository;
  return {
    ...view,
    repository: tokenArn === undefined ? repository : { ...repository, status_token_configured: true },
  };
}

/** Apps of one project (`project_id`), or every app for platform-wide readers. */
export async function listApps(
  caller: Caller,
  projectId: string | undefined,
  page: PageRequest,
): Promise<Page<AppView>> {
  const { access } = await signInAndRead(caller);
  let result: Page<Item>;
  if (projectId !== undefined) {
    access.require('app.read', projectScope(projectId), 'app.read', 'Project');
    result = await queryPage({ index: 'GSI2', partition: byParent.appsOfProject(projectId), page });
  } else if (access.can('app.read', PLATFORM)) {
    result = await queryPage({ index: 'GSI1', partition: byKind.app, page });
  } else {
    throw invalid('Give project_id: you can read applications of some projects, not of every project.', [
      { name: 'project_id', reason: 'required without platform-wide read' },
    ]);
  }
  return { items: result.items.map(appView), next_cursor: result.next_cursor };
}

export async function getApp(caller: Caller, id: string): Promise<AppView> {
  return appView((await readApp(caller, id, 'app.read')).app);
}

export async function createApp(caller: Caller, input: NewApp, alsoCommit: AlsoCommit<AppView>): Promise<AppView> {
  const { access, items } = await signInAndRead(caller, [keys.project(input.project_id)]);
  if (!items[0]) throw notFound('Project');
  access.require('app.create', projectScope(input.project_id), 'project.read', 'Project');
  const id = newId('app');
  const item = {
    ...keys.app(id),
    GSI1PK: byKind.app,
    GSI1SK: `${input.name}#${id}`,
    GSI2PK: byParent.appsOfProject(input.project_id),
    GSI2SK: `${input.name}#${id}`,
    _envs: 0,
    ...stamp(id, caller, input),
  };
  const view = appView(item);
  await commit([
    claimName(keys.appName(input.project_id, input.name), id, `Application name ${input.name} in this project`),
    createRecord(item, what),
    countChild(keys.project(input.project_id), '_apps', 1, 'Project'),
    ...buildClusterExists(input.build_cluster_id),
    appChange(caller, 'Application Created', view, view),
    ...alsoCommit(view),
  ]);
  return view;
}

export async function updateApp(
  caller: Caller,
  id: string,
  body: { replace: AppChanges } | { patch: unknown },
  expected: number,
): Promise<AppView> {
  const { app } = await readApp(caller, id, 'app.update');
  const next = 'replace' in body ? body.replace : validate(appChanges, mergePatch(pick(app, CHANGEABLE), body.patch));
  const changes = Object.fromEntries(CHANGEABLE.map((f) => [f, (next as Record<string, unknown>)[f]]));
  const { item, write } = replaceRecord(app, changes, expected, what);
  const view = appView(item);
  await commit([
    write,
    ...(next.build_cluster_id !== app.build_cluster_id ? buildClusterExists(next.build_cluster_id) : []),
    appChange(caller, 'Application Updated', view, { ...view, changes: changedFields(app, item, CHANGEABLE) }),
  ]);
  return view;
}

/** Refused (409) while the app still has environments or pipelines. */
export async function deleteApp(caller: Caller, id: string, expected: number): Promise<void> {
  const { app } = await readApp(caller, id, 'app.delete');
  const projectId = app.project_id as string;
  await commit([
    deleteRecord(
      keys.app(id),
      expected,
      what,
      { attr: '_envs', children: 'environments' },
      { attr: '_pipelines', children: 'pipelines' },
    ),
    releaseName(keys.appName(projectId, app.name as string)),
    countChild(keys.project(projectId), '_apps', -1, 'Project'),
    appChange(caller, 'Application Deleted', { id, project_id: projectId }, { id }),
  ]);
}

const appChange = <Type extends Extract<ChangeEventType, `Application ${string}`>>(
  caller: Caller,
  type: Type,
  app: { id: string; project_id: string },
  data: ChangeEventData<Type>,
) => recordChange(caller, { type, subject: `app/${app.id}`, project_id: app.project_id, data });

/** An app may name only a registered cluster to build on: checked in the write's own transaction. */
const buildClusterExists = (clusterId: string | undefined): Write[] =>
  clusterId
    ? [
        {
          check: keys.cluster(clusterId),
          condition: 'attribute_exists(PK)',
          onFail: () => unprocessable('unknown-cluster', `Cluster ${clusterId} does not exist (build_cluster_id).`),
        },
      ]
    : [];

async function readApp(caller: Caller, id: string, permission: 'app.read' | 'app.update' | 'app.delete') {
  const { access, items } = await signInAndRead(caller, [keys.app(id)]);
  const app = items[0];
  if (!app) throw notFound(what);
  access.require(permission, appScope(app.project_id as string, id), 'app.read', what);
  return { access, app };
}
