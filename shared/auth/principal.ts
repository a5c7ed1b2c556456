import type { UserView } from '../domain/identity.ts';
import { Conflict, conflict } from '../errors.ts';
import type { ChangeEventData, ChangeEventType } from '../events/catalog.ts';
import { recordChange } from '../events/outbox.ts';
import { byKind, keys } from '../store/keys.ts';
import { present } from '../store/records.ts';
import { commit, getMany, type Item, type Key } from '../store/table.ts';
import { Access, type Grant, platformAdmin } from './access.ts';
import type { Caller } from './caller.ts';
import { isPlatformAdmin } from './groups.ts';

/**
 * Signs the caller in and reads the objects a request touches with the caller's user record, in
 * one BatchGetItem: authorization costs no extra round trip. The user record carries the caller's
 * grants (direct and through teams), kept current by every binding and membership change. Signing
 * in writes, but only on a caller's first call (registration) or when the IdP changed their name,
 * email or groups (a profile sync); `readAccessOnly` is the read-only twin.
 */
export async function signInAndRead(
  caller: Caller,
  objectKeys: readonly Key[] = [],
): Promise<{ access: Access; user: Item; items: (Item | undefined)[] }> {
  const [user, ...items] = await getMany([keys.user(caller.sub), ...objectKeys]);
  const record = user ? await syncProfile(caller, user) : await registerUser(caller);
  return { access: accessOf(caller, record), user: record, items };
}

/**
 * The same read for functions that may only read the table (manifest `tableAccess: 'read'`): the
 * caller is neither registered nor synced here, and a caller never seen before has no grants.
 */
export async function readAccessOnly(
  caller: Caller,
  objectKeys: readonly Key[] = [],
): Promise<{ access: Access; items: (Item | undefined)[] }> {
  const [user, ...items] = await getMany([keys.user(caller.sub), ...objectKeys]);
  return { access: accessOf(caller, user ?? {}), items };
}

/**
 * The platform acting for a user, outside any request of theirs (a workflow step of a run they
 * started): their identity as they last presented it, so their grants and admin groups decide
 * what the step may do, as if they asked now. A user never seen has no grants.
 */
export async function callerFor(sub: string, requestId?: string): Promise<Caller> {
  const [user] = await getMany([keys.user(sub)]);
  return {
    sub,
    name: (user?.name as string | undefined) ?? sub,
    email: (user?.email as string | null | undefined) ?? undefined,
    groups: (user?.groups as string[] | undefined) ?? [],
    requestId,
  };
}

export function accessOf(caller: Caller, user: Item): Access {
  const grants = Object.values((user._grants ?? {}) as Record<string, Grant>);
  return new Access(isPlatformAdmin(caller.groups) ? [platformAdmin, ...grants] : grants);
}

/** The IdP owns name, email and groups: a change there shows here on the user's next call (one write, only then). */
async function syncProfile(caller: Caller, user: Item): Promise<Item> {
  const profile = { name: caller.name ?? caller.sub, email: caller.email ?? null, groups: caller.groups };
  if (
    JSON.stringify([user.name, user.email, user.groups]) ===
    JSON.stringify([profile.name, profile.email, profile.groups])
  ) {
    return user;
  }
  const updated_at = new Date().toISOString();
  const changes = (['name', 'email', 'groups'] as const).filter(
    (field) => JSON.stringify(user[field]) !== JSON.stringify(profile[field]),
  );
  await commit([
    {
      update: keys.user(caller.sub),
      set: 'SET #name = :name, email = :email, #groups = :groups, updated_at = :now',
      condition: 'attribute_exists(PK)',
      names: { '#name': 'name', '#groups': 'groups' },
      values: { ':name': profile.name, ':email': profile.email, ':groups': profile.groups, ':now': updated_at },
      onFail: () => conflict('user-exists', caller.sub),
    },
    userChange(caller, 'User Updated', { ...userView({ ...user, ...profile, updated_at }), changes }),
  ]).catch(ignoreConflict);
  return { ...user, ...profile, updated_at };
}

/** Users appear on their first authenticated call, from the token's claims. */
async function registerUser(caller: Caller): Promise<Item> {
  const now = new Date().toISOString();
  const user: Item = {
    ...keys.user(caller.sub),
    GSI1PK: byKind.user,
    GSI1SK: caller.sub,
    id: caller.sub,
    name: caller.name ?? caller.sub,
    email: caller.email ?? null,
    groups: caller.groups,
    _grants: {},
    created_at: now,
    updated_at: now,
    version: 1,
  };
  await commit([
    { put: user, condition: 'attribute_not_exists(PK)', onFail: () => conflict('user-exists', caller.sub) },
    userChange(caller, 'User Registered', userView(user)),
  ]).catch(ignoreConflict);
  return user;
}

/** Concurrent first (or first-after-a-claims-change) calls race to write the same profile: any winner will do. */
function ignoreConflict(error: unknown): void {
  if (!(error instanceof Conflict)) throw error;
}

/** A user's public fields (their grants are the bindings' and memberships' story, not theirs). */
const userView = (user: Item): UserView => {
  const { id, name, email, groups, created_at } = present<UserView>(user);
  return { id, name, email, groups, created_at };
};

const userChange = <Type extends Extract<ChangeEventType, `User ${string}`>>(
  caller: Caller,
  type: Type,
  data: ChangeEventData<Type>,
) => recordChange(caller, { type, subject: `user/${caller.sub}`, data });
