import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { PLATFORM, projectScope } from '../auth/scope.ts';
import { mergePatch, pick } from '../domain/merge-patch.ts';
import type { ProjectView } from '../domain/project.ts';
import { type NewProject, type ProjectChanges, projectChanges } from '../domain/project.ts';
import { validate } from '../domain/validate.ts';
import { notFound } from '../errors.ts';
import type { ChangeEventData, ChangeEventType } from '../events/catalog.ts';
import { recordChange } from '../events/outbox.ts';
import { newId } from '../store/ids.ts';
import { byKind, keys } from '../store/keys.ts';
import { listCursors, type Page, type PageRequest } from '../store/paging.ts';
import { claimName, createRecord, deleteRecord, present, releaseName, replaceRecord, stamp } from '../store/records.ts';
import { type AlsoCommit, commit, getMany, type Item, queryPage } from '../store/table.ts';
import { changedFields } from './changes.ts';

export type { ProjectView };

const CHANGEABLE = Object.keys(projectChanges.shape);
const what = 'Project';

/** Every project for platform-wide readers; otherwise the projects the caller may read, by id from its grants. */
export async function listProjects(caller: Caller, page: PageRequest): Promise<Page<ProjectView>> {
  const { access } = await signInAndRead(caller);
  if (access.can('project.read', PLATFORM)) {
    const result = await queryPage({ index: 'GSI1', partition: byKind.project, page });
    return { items: result.items.map((i) => present<ProjectView>(i)), next_cursor: result.next_cursor };
  }
  const cursors = listCursors(['readable-projects'], ['id']);
  const after = cursors.open(page.cursor)?.id ?? '';
  const ids = access.readableProjects().filter((id) => id > after);
  const slice = ids.slice(0, page.limit);
  const items = slice.length > 0 ? await getMany(slice.map(keys.project)) : [];
  return {
    items: items.filter((i): i is Item => i !== undefined).map((i) => present<ProjectView>(i)),
    next_cursor: cursors.seal(ids.length > slice.length ? { id: slice.at(-1) as string } : undefined),
  };
}

export async function getProject(caller: Caller, id: string): Promise<ProjectView> {
  const { project } = await readProject(caller, id, 'project.read');
  return present(project);
}

export async function createProject(
  caller: Caller,
  input: NewProject,
  alsoCommit: AlsoCommit<ProjectView>,
): Promise<ProjectView> {
  const { access } = await signInAndRead(caller);
  access.requireOn('project.create', PLATFORM);
  const id = newId('prj');
  const item = {
    ...keys.project(id),
    GSI1PK: byKind.project,
    GSI1SK: `${input.name}#${id}`,
    _apps: 0,
    ...stamp(id, caller, input),
  };
  const view = present<ProjectView>(item);
  await commit([
    claimName(keys.projectName(input.name), id, `Project name ${input.name}`),
    createRecord(item, what),
    projectChange(caller, 'Project Created', id, view),
    ...alsoCommit(view),
  ]);
  return view;
}

/** PUT replaces every changeable field (absent ones are cleared); PATCH merges (RFC 7396). */
export async function updateProject(
  caller: Caller,
  id: string,
  body: { replace: ProjectChanges } | { patch: unknown },
  expected: number,
): Promise<ProjectView> {
  const { project } = await readProject(caller, id, 'project.update');
  const next =
    'replace' in body ? body.replace : validate(projectChanges, mergePatch(pick(project, CHANGEABLE), body.patch));
  const changes = Object.fromEntries(CHANGEABLE.map((f) => [f, (next as Record<string, unknown>)[f]]));
  const { item, write } = replaceRecord(project, changes, expected, what);
  const view = present<ProjectView>(item);
  await commit([
    write,
    projectChange(caller, 'Project Updated', id, { ...view, changes: changedFields(project, item, CHANGEABLE) }),
  ]);
  return view;
}

/** Refused (409) while the project still has applications or chat channels: deletes never cascade silently. */
export async function deleteProject(caller: Caller, id: string, expected: number): Promise<void> {
  const { project } = await readProject(caller, id, 'project.delete');
  await commit([
    deleteRecord(
      keys.project(id),
      expected,
      what,
      { attr: '_apps', children: 'applications' },
      { attr: '_channels', children: 'chat channels' },
    ),
    releaseName(keys.projectName(project.name as string)),
    projectChange(caller, 'Project Deleted', id, { id }),
  ]);
}

const projectChange = <Type extends Extract<ChangeEventType, `Project ${string}`>>(
  caller: Caller,
  type: Type,
  id: string,
  data: ChangeEventData<Type>,
) => recordChange(caller, { type, subject: `project/${id}`, project_id: id, data });

async function readProject(
  caller: Caller,
  id: string,
  permission: 'project.read' | 'project.update' | 'project.delete',
) {
  const { access, items } = await signInAndRead(caller, [keys.project(id)]);
  const project = items[0];
  if (!project) throw notFound(what);
  access.require(permission, projectScope(id), 'project.read', what);
  return { access, project };
}
