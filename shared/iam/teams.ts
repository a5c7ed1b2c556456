import type { z } from 'zod/mini';
import type { Caller } from '../auth/caller.ts';
import { readWithAccess } from '../auth/principal.ts';
import { PLATFORM } from '../auth/scope.ts';
import type { MemberView, newTeam, TeamView } from '../domain/identity.ts';
import { busy, conflict, forbidden, notFound, staleVersion } from '../errors.ts';
import type { ChangeEventData, ChangeEventType } from '../events/catalog.ts';
import { recordChange } from '../events/outbox.ts';
import { newId } from '../store/ids.ts';
import { byKind, keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { claimName, createRecord, present, releaseName, stamp } from '../store/records.ts';
import { type AlsoCommit, commit, type Item, queryPage, type Write } from '../store/table.ts';
import { type GrantMap, teamRevision, userGrants } from './grants.ts';

export type { MemberView, TeamView };

const what = 'Team';
const teamView = (item: Item): TeamView => ({
  ...present<TeamView>(item),
  member_count: (item._members as number) ?? 0,
});

export async function listTeams(caller: Caller, page: PageRequest): Promise<Page<TeamView>> {
  const { access } = await readWithAccess(caller);
  if (!access.canAnywhere('iam.read')) throw forbidden('You need a role binding to list teams.');
  const result = await queryPage({ index: 'GSI1', partition: byKind.team, page });
  return { items: result.items.map(teamView), next_cursor: result.next_cursor };
}

export async function getTeam(caller: Caller, id: string): Promise<TeamView> {
  return teamView(await readTeam(caller, id, false));
}

export async function createTeam(
  caller: Caller,
  input: z.infer<typeof newTeam>,
  alsoCommit: AlsoCommit<TeamView>,
): Promise<TeamView> {
  const { access } = await readWithAccess(caller);
  access.requireOn('iam.manage', PLATFORM);
  const id = newId('team');
  const item = {
    ...keys.team(id),
    GSI1PK: byKind.team,
    GSI1SK: `${input.name}#${id}`,
    _members: 0,
    _rev: 0,
    _grants: {},
    ...stamp(id, caller, input),
  };
  const view = teamView(item);
  await commit([
    claimName(keys.teamName(input.name), id, `Team name ${input.name}`),
    createRecord(item, what),
    teamChange(caller, 'Team Created', id, view),
    ...alsoCommit(view),
  ]);
  return view;
}

/** Refused (409) while the team has members or role bindings. */
export async function deleteTeam(caller: Caller, id: string, expected: number): Promise<void> {
  const team = await readTeam(caller, id, true);
  if ((team._members as number) > 0 || Object.keys((team._grants as GrantMap) ?? {}).length > 0) {
    throw conflict('has-children', 'The team still has members or role bindings: remove them first.');
  }
  if (((team._approverOf as number | undefined) ?? 0) > 0) {
    throw conflict('has-children', 'Environments name the team as approvers: change their protection first.');
  }
  await commit([
    {
      delete: keys.team(id),
      // _rev covers members and bindings; the approver count is checked here, atomically.
      condition: '#version = :expected AND #rev = :rev AND (attribute_not_exists(#approverOf) OR #approverOf = :zero)',
      names: { '#version': 'version', '#rev': '_rev', '#approverOf': '_approverOf' },
      values: { ':expected': expected, ':rev': team._rev ?? 0, ':zero': 0 },
      onFail: (old) =>
        !old
          ? notFound(what)
          : old.version !== expected
            ? staleVersion()
            : busy('concurrent-modification', 'The team changed; retry.'),
    },
    releaseName(keys.teamName(team.name as string)),
    teamChange(caller, 'Team Deleted', id, { id }),
  ]);
}

export async function listMembers(caller: Caller, id: string, page: PageRequest): Promise<Page<MemberView>> {
  await readTeam(caller, id, false);
  const result = await queryPage({ partition: keys.team(id).PK, prefix: 'MEMBER#', page });
  return { items: result.items.map((i) => present<MemberView>(i)), next_cursor: result.next_cursor };
}

/** Adding is idempotent (PUT): a member already there is answered as is. The new member gets the team's grants. */
export async function addMember(
  caller: Caller,
  teamId: string,
  sub: string,
): Promise<{ member: MemberView; added: boolean }> {
  const { access, items } = await readWithAccess(caller, [
    keys.team(teamId),
    keys.user(sub),
    keys.teamMember(teamId, sub),
  ]);
  const [team, user, existing] = items;
  if (!team || !access.canAnywhere('iam.read')) throw notFound(what);
  access.requireOn('iam.manage', PLATFORM);
  if (!user) throw notFound(`User ${sub} (users appear after their first signed-in call)`);
  if (existing) return { member: present(existing), added: false };
  const member = {
    ...keys.teamMember(teamId, sub),
    team_id: teamId,
    user_id: sub,
    added_by: caller.sub,
    added_at: new Date().toISOString(),
  };
  await commit([
    {
      put: member,
      condition: 'attribute_not_exists(PK)',
      onFail: () => busy('concurrent-modification', 'Membership changed; retry.'),
    },
    teamRevision(team, { members: 1 }),
    ...optional(userGrants(sub, (team._grants as GrantMap) ?? {})),
    teamChange(caller, 'Team Member Added', teamId, present(member)),
  ]);
  return { member: present(member), added: true };
}

export async function removeMember(caller: Caller, teamId: string, sub: string): Promise<void> {
  const { access, items } = await readWithAccess(caller, [keys.team(teamId), keys.teamMember(teamId, sub)]);
  const [team, member] = items;
  if (!team || !access.canAnywhere('iam.read')) throw notFound(what);
  access.requireOn('iam.manage', PLATFORM);
  if (!member) throw notFound(`Member ${sub}`);
  await commit([
    {
      delete: keys.teamMember(teamId, sub),
      condition: 'attribute_exists(PK)',
      onFail: () => notFound(`Member ${sub}`),
    },
    teamRevision(team, { members: -1 }),
    ...optional(userGrants(sub, {}, Object.keys((team._grants as GrantMap) ?? {}))),
    teamChange(caller, 'Team Member Removed', teamId, { team_id: teamId, user_id: sub }),
  ]);
}

/** Membership changes are the team's history: their subject is the team. */
const teamChange = <Type extends Extract<ChangeEventType, `Team ${string}`>>(
  caller: Caller,
  type: Type,
  id: string,
  data: ChangeEventData<Type>,
) => recordChange(caller, { type, subject: `team/${id}`, data });

async function readTeam(caller: Caller, id: string, forChange: boolean): Promise<Item> {
  const { access, items } = await readWithAccess(caller, [keys.team(id)]);
  if (!items[0] || !access.canAnywhere('iam.read')) throw notFound(what);
  if (forChange) access.requireOn('iam.manage', PLATFORM);
  return items[0];
}

const optional = (write: Write | undefined): Write[] => (write ? [write] : []);
