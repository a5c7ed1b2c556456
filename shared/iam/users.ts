import type { Grant } from '../auth/access.ts';
import type { Caller } from '../auth/caller.ts';
import { readWithAccess } from '../auth/principal.ts';
import type { UserView } from '../domain/identity.ts';
import { forbidden } from '../errors.ts';
import { byKind } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { present } from '../store/records.ts';
import { queryPage } from '../store/table.ts';

export type { UserView };

export async function listUsers(caller: Caller, page: PageRequest): Promise<Page<UserView>> {
  const { access } = await readWithAccess(caller);
  if (!access.canAnywhere('iam.read')) throw forbidden('You need a role binding to list users.');
  const result = await queryPage({ index: 'GSI1', partition: byKind.user, page });
  return { items: result.items.map((i) => present<UserView>(i)), next_cursor: result.next_cursor };
}

/** The caller, with every grant that applies to them (direct, through teams, from admin groups). */
export async function me(caller: Caller): Promise<UserView & { grants: readonly Grant[] }> {
  const { access, user } = await readWithAccess(caller);
  return { ...present<UserView>(user), grants: access.grants };
}
