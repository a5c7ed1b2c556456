/**
 * The pipelines API: an application's pipelines, each a definition (shared/domain/pipeline.ts)
 * checked against the application's environments, and versioned: every change is a new version,
 * and every version is kept beside the pipeline so a run can always show what it ran.
 */
import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { appScope } from '../auth/scope.ts';
import { changedFields } from '../catalog/changes.ts';
import { mergePatch, pick } from '../domain/merge-patch.ts';
import {
  checkEnvironments,
  checkStages,
  type NewPipeline,
  type PipelineDefinition,
  type PipelineView,
  pipelineChanges,
} from '../domain/pipeline.ts';
import { validate } from '../domain/validate.ts';
import { conflict, invalid, notFound } from '../errors.ts';
import { recordChange } from '../events/outbox.ts';
import { newId } from '../store/ids.ts';
import { keys } from '../store/keys.ts';
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
import { type AlsoCommit, commit, getMany, type Item, queryPage, type Write } from '../store/table.ts';
import { pipelineIndexes, pipelineKeys } from './keys.ts';

export type { PipelineView };

const CHANGEABLE = Object.keys(pipelineChanges.shape);
const what = 'Pipeline';

/** `GET /pipelines?app_id=`: an application's pipelines, by name. */
export async function listPipelines(
  caller: Caller,
  appId: string | undefined,
  page: PageRequest,
): Promise<Page<PipelineView>> {
  if (!appId) throw invalid('app_id is required.', [{ name: 'app_id', reason: 'missing' }]);
  const { access, items } = await signInAndRead(caller, [keys.app(appId)]);
  const app = items[0];
  if (!app) throw notFound('Application');
  access.require('pipeline.read', appScope(app.project_id as string, appId), 'app.read', 'Application');
  const result = await queryPage({ index: 'GSI2', partition: pipelineIndexes.pipelinesOfApp(appId), page });
  return { items: result.items.map((i) => present<PipelineView>(i)), next_cursor: result.next_cursor };
}

/** One pipeline as it is now, or (`version`) its definition as it was at that version. */
export async function getPipeline(caller: Caller, id: string, version?: number): Promise<PipelineView> {
  const { pipeline, extra } = await readPipeline(caller, id, 'pipeline.read', version ? [version] : []);
  if (version === undefined || version === pipeline.version) return present<PipelineView>(pipeline);
  const kept = extra[0];
  if (!kept) throw notFound(`Version ${version} of this pipeline`);
  return { ...present<PipelineView>(pipeline), ...(kept.definition as PipelineDefinition), version };
}

export async function createPipeline(
  caller: Caller,
  input: NewPipeline,
  alsoCommit: AlsoCommit<PipelineView>,
): Promise<PipelineView> {
  const { app_id: appId, name, ...definition } = input;
  const { access, items } = await signInAndRead(caller, [keys.app(appId)]);
  const app = items[0];
  if (!app) throw notFound('Application');
  const projectId = app.project_id as string;
  access.require('pipeline.write', appScope(projectId, appId), 'app.read', 'Application');
  await checkDefinition(appId, definition);
  const id = newId('pln');
  const item: Item = {
    ...pipelineKeys.pipeline(id),
    GSI2PK: pipelineIndexes.pipelinesOfApp(appId),
    GSI2SK: `${name}#${id}`,
    _active_runs: 0,
    // Application names never change: a run names its app without reading it.
    _app_name: app.name,
    ...stamp(id, caller, { app_id: appId, project_id: projectId, name, ...definition }),
  };
  const view = present<PipelineView>(item);
  await commit([
    claimName(pipelineKeys.name(appId, name), id, `Pipeline name ${name} in this application`),
    createRecord(item, what),
    keepVersion(view, caller),
    countChild(keys.app(appId), '_pipelines', 1, 'Application'),
    recordChange(caller, { type: 'Pipeline Created', subject: `pipeline/${id}`, project_id: projectId, data: view }),
    ...alsoCommit(view),
  ]);
  return view;
}

/** `PUT` (`replace`: the whole definition) or `PATCH` (`patch`: RFC 7396): a new version either way. */
export async function updatePipeline(
  caller: Caller,
  id: string,
  body: { replace: PipelineDefinition } | { patch: unknown },
  expected: number,
): Promise<PipelineView> {
  const { pipeline } = await readPipeline(caller, id, 'pipeline.write');
  const next =
    'replace' in body ? body.replace : validate(pipelineChanges, mergePatch(pick(pipeline, CHANGEABLE), body.patch));
  await checkDefinition(pipeline.app_id as string, next);
  const changes = Object.fromEntries(CHANGEABLE.map((f) => [f, (next as Record<string, unknown>)[f]]));
  const { item, write } = replaceRecord(pipeline, changes, expected, what);
  const view = present<PipelineView>(item);
  await commit([
    write,
    keepVersion(view, caller),
    recordChange(caller, {
      type: 'Pipeline Updated',
      subject: `pipeline/${id}`,
      project_id: view.project_id,
      data: { ...view, changes: changedFields(pipeline, item, CHANGEABLE) },
    }),
  ]);
  return view;
}

/** Refused (409) while one of its runs is in progress; its runs and versions stay, as history. */
export async function deletePipeline(caller: Caller, id: string, expected: number): Promise<void> {
  const { pipeline } = await readPipeline(caller, id, 'pipeline.write');
  const appId = pipeline.app_id as string;
  await commit([
    deleteRecord(pipelineKeys.pipeline(id), expected, what, { attr: '_active_runs', children: 'runs in progress' }),
    releaseName(pipelineKeys.name(appId, pipeline.name as string)),
    countChild(keys.app(appId), '_pipelines', -1, 'Application'),
    recordChange(caller, {
      type: 'Pipeline Deleted',
      subject: `pipeline/${id}`,
      project_id: pipeline.project_id as string,
      data: { id, app_id: appId },
    }),
  ]);
}

/** The pipeline and what the caller may do with it; `versions`: kept definitions read in the same request. */
export async function readPipeline(
  caller: Caller,
  id: string,
  permission: 'pipeline.read' | 'pipeline.write' | 'pipeline.run',
  versions: number[] = [],
) {
  const { access, items } = await signInAndRead(caller, [
    pipelineKeys.pipeline(id),
    ...versions.map((v) => pipelineKeys.version(id, v)),
  ]);
  const [pipeline, ...extra] = items;
  if (!pipeline) throw notFound(what);
  access.require(permission, appScope(pipeline.project_id as string, pipeline.app_id as string), 'pipeline.read', what);
  return { access, pipeline, extra };
}

/** The stages fit together and every deploy stage names an environment the application has. */
async function checkDefinition(appId: string, definition: PipelineDefinition): Promise<void> {
  checkStages(definition.stages);
  const named = [...new Set(definition.stages.flatMap((s) => (s.type === 'deploy' ? [s.env] : [])))];
  const envs = await getMany(named.map((env) => keys.env(appId, env)));
  checkEnvironments(definition.stages, new Set(named.filter((_, i) => envs[i] !== undefined)));
}

/** Every version's definition is kept, once: a version number is never reused. */
function keepVersion(view: PipelineView, caller: Caller): Write {
  const definition = Object.fromEntries(
    CHANGEABLE.flatMap((f) => (f in view ? [[f, view[f as keyof PipelineView]]] : [])),
  );
  return {
    put: {
      ...pipelineKeys.version(view.id, view.version),
      version: view.version,
      definition,
      created_at: view.updated_at,
      created_by: caller.sub,
    },
    condition: 'attribute_not_exists(PK)',
    onFail: () => conflict('version-exists', `Version ${view.version} of this pipeline exists already.`),
  };
}
