import type { Grant } from '../auth/access.ts';
import type { Caller } from '../auth/caller.ts';
import { readWithAccess } from '../auth/principal.ts';
import type { RoleName } from '../auth/roles.ts';
import { appScope, envScope, PLATFORM, projectScope, type ScopePath } from '../auth/scope.ts';
import type { BindingView, NewBinding } from '../domain/identity.ts';
import { forbidden, notFound } from '../errors.ts';
import type { ChangeEventData } from '../events/catalog.ts';
import { recordChange } from '../events/outbox.ts';
import { newId } from '../store/ids.ts';
import { bindingClaim, byKind, byParent, keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { claimName, createRecord, present, releaseName, stamp } from '../store/records.ts';
import { type AlsoCommit, commit, getMany, type Item, type Key, query, queryPage, type Write } from '../store/table.ts';
import { MAX_TEAM_MEMBERS, teamRevision, userGrants } from './grants.ts';

export type { BindingView };

/**
 * Gives a role on a scope to a user or a team. Nobody can hand out more than they hold: the
 * caller needs iam.manage and every permission of the role on that scope (no escalation).
 */
export async function createBinding(
  caller: Caller,
  input: NewBinding,
  alsoCommit: AlsoCommit<BindingView>,
): Promise<BindingView> {
  const scopeKeys = scopeObjectKeys(input.scope);
  const subjectKey = input.subject.kind === 'user' ? keys.user(input.subject.id) : keys.team(input.subject.id);
  const { access, items } = await readWithAccess(caller, [...scopeKeys, subjectKey]);
  const scope = scopePath(input.scope, items);
  if (!access.mayGrant(input.role, scope)) {
    if (!access.can('iam.read', scope)) throw notFound('Scope');
    throw forbidden(`Granting ${input.role} on ${scope} needs iam.manage there and every permission of ${input.role}.`);
  }
  const subject = items.at(-1);
  if (!subject)
    throw notFound(
      input.subject.kind === 'user'
        ? `User ${input.subject.id} (users appear after their first signed-in call)`
        : 'Team',
    );

  const id = newId('bnd');
  const subjectRef = `${input.subject.kind}:${input.subject.id}`;
  const item = {
    ...keys.binding(id),
    GSI1PK: byKind.binding,
    GSI1SK: id,
    GSI2PK: byParent.bindingsOfSubject(input.subject.kind, input.subject.id),
    GSI2SK: id,
    ...stamp(id, caller, { ...input, scope_path: scope }),
  };
  const grant: Grant = { role: input.role, scope, ...(input.subject.kind === 'team' ? { via: input.subject.id } : {}) };
  const view = present<BindingView>(item);
  await commit([
    claimName(bindingClaim(subjectRef, input.role, scope), id, `A ${input.role} binding for ${subjectRef} on ${scope}`),
    createRecord(item, 'Binding'),
    ...(await grantWrites(input.subject, subject, { [id]: grant }, [])),
    bindingChange(caller, 'Role Bound', id, view),
    ...alsoCommit(view),
  ]);
  return view;
}

/**
 * Lists bindings, all or those of one subject (`subject=user:alice` or `subject=team:team_...`),
 * showing only those on scopes where the caller holds iam.read. One Query per page, filtered here:
 * a page may hold fewer than `limit` items, and its cursor still resumes after the last key read.
 */
export async function listBindings(
  caller: Caller,
  subject: { kind: 'user' | 'team'; id: string } | undefined,
  page: PageRequest,
): Promise<Page<BindingView>> {
  const { access } = await readWithAccess(caller);
  if (!access.canAnywhere('iam.read')) throw forbidden('You need a role binding to list role bindings.');
  const result = subject
    ? await queryPage({ index: 'GSI2', partition: byParent.bindingsOfSubject(subject.kind, subject.id), page })
    : await queryPage({ index: 'GSI1', partition: byKind.binding, page });
  const visible = result.items.filter((i) => access.can('iam.read', i.scope_path as ScopePath));
  return { items: visible.map((i) => present<BindingView>(i)), next_cursor: result.next_cursor };
}

/** Removing a binding takes the same right as creating it; the grants go with it, atomically. */
export async function deleteBinding(caller: Caller, id: string): Promise<void> {
  const { access, items } = await readWithAccess(caller, [keys.binding(id)]);
  const binding = items[0];
  if (!binding || !access.canAnywhere('iam.read')) throw notFound('Binding');
  const scope = binding.scope_path as ScopePath;
  if (!access.can('iam.read', scope)) throw notFound('Binding');
  if (!access.mayGrant(binding.role as RoleName, scope))
    throw forbidden(`Removing this binding needs iam.manage and every permission of ${binding.role} on ${scope}.`);
  const subject = binding.subject as NewBinding['subject'];
  const [subjectItem] = subject.kind === 'team' ? await getMany([keys.team(subject.id)]) : [undefined];
  await commit([
    { delete: keys.binding(id), condition: 'attribute_exists(PK)', onFail: () => notFound('Binding') },
    releaseName(bindingClaim(`${subject.kind}:${subject.id}`, binding.role as string, scope)),
    ...(await grantWrites(subject, subjectItem, {}, [id])),
    bindingChange(caller, 'Binding Deleted', id, { id }),
  ]);
}

/** Bindings are platform-level IAM objects, whatever scope they grant on (the audit reads them at platform scope). */
const bindingChange = <Type extends 'Role Bound' | 'Binding Deleted'>(
  caller: Caller,
  type: Type,
  id: string,
  data: ChangeEventData<Type>,
) => recordChange(caller, { type, subject: `binding/${id}`, data });

/** A user binding changes one user record; a team binding the team and every member. */
async function grantWrites(
  subject: NewBinding['subject'],
  subjectItem: Item | undefined,
  set: Record<string, Grant>,
  remove: string[],
): Promise<Write[]> {
  if (subject.kind === 'user') return [userGrants(subject.id, set, remove)].filter((w): w is Write => w !== undefined);
  if (!subjectItem) throw notFound('Team');
  const members = await query({ partition: keys.team(subject.id).PK, prefix: 'MEMBER#', limit: MAX_TEAM_MEMBERS });
  const [grantId, grant] = Object.entries(set)[0] ?? [];
  return [
    teamRevision(subjectItem, grantId && grant ? { setGrant: [grantId, grant] } : { removeGrant: remove[0] }),
    ...members.items
      .map((m) => userGrants(m.user_id as string, set, remove))
      .filter((w): w is Write => w !== undefined),
  ];
}

function scopeObjectKeys(scope: NewBinding['scope']): Key[] {
  switch (scope.kind) {
    case 'platform':
      return [];
    case 'project':
      return [keys.project(scope.project_id)];
    case 'app':
      return [keys.app(scope.app_id)];
    case 'env':
      return [keys.app(scope.app_id), keys.env(scope.app_id, scope.env)];
  }
}

function scopePath(scope: NewBinding['scope'], items: (Item | undefined)[]): ScopePath {
  if (scope.kind === 'platform') return PLATFORM;
  const [first, second] = items;
  if (!first) throw notFound(scope.kind === 'project' ? 'Project' : 'Application');
  if (scope.kind === 'project') return projectScope(scope.project_id);
  if (scope.kind === 'app') return appScope(first.project_id as string, scope.app_id);
  if (!second) throw notFound('Environment');
  return envScope(first.project_id as string, scope.app_id, scope.env);
}
