import type { Grant } from '../auth/access.ts';
import { busy, conflict, notFound } from '../errors.ts';
import { keys } from '../store/keys.ts';
import type { Item, Write } from '../store/table.ts';

/**
 * Grants are materialized on each user record (`_grants`, keyed by binding id) so that a
 * request's authorization is read in the same BatchGetItem as its object. These writes keep
 * them in step with bindings and team membership, always inside the same transaction.
 */

export const MAX_TEAM_MEMBERS = 90; // a team binding updates every member in one transaction (limit 100 items)

export type GrantMap = Record<string, Grant>;

/** Sets or removes grants on one user record (which must exist). */
export function userGrants(sub: string, set: GrantMap, remove: readonly string[] = []): Write | undefined {
  const setIds = Object.keys(set);
  if (setIds.length === 0 && remove.length === 0) return undefined;
  const names: Record<string, string> = { '#grants': '_grants' };
  const values: Record<string, unknown> = {};
  const sets = setIds.map((id, i) => {
    names[`#s${i}`] = id;
    values[`:s${i}`] = set[id];
    return `#grants.#s${i} = :s${i}`;
  });
  const removes = remove.map((id, i) => {
    names[`#r${i}`] = id;
    return `#grants.#r${i}`;
  });
  return {
    update: keys.user(sub),
    set: [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : '']
      .join(' ')
      .trim(),
    condition: 'attribute_exists(PK)',
    names,
    ...(sets.length ? { values } : {}),
    onFail: () => notFound(`User ${sub}`),
  };
}

/**
 * Changes a team's own grants and/or member count, at the team revision that was read: any
 * concurrent membership or binding change makes this fail, so no member can miss a grant.
 */
export function teamRevision(
  team: Item,
  change: { setGrant?: [string, Grant]; removeGrant?: string; members?: 1 | -1 },
): Write {
  const names: Record<string, string> = { '#rev': '_rev' };
  const values: Record<string, unknown> = { ':seen': team._rev ?? 0, ':one': 1 };
  const set = ['#rev = #rev + :one'];
  const remove: string[] = [];
  if (change.setGrant || change.removeGrant) names['#grants'] = '_grants';
  if (change.setGrant) {
    names['#g'] = change.setGrant[0];
    values[':g'] = change.setGrant[1];
    set.push('#grants.#g = :g');
  }
  if (change.removeGrant) {
    names['#g'] = change.removeGrant;
    remove.push('#grants.#g');
  }
  let condition = '#rev = :seen';
  if (change.members) {
    set.push('#members = #members + :delta');
    names['#members'] = '_members';
    values[':delta'] = change.members;
    if (change.members > 0) {
      condition += ' AND #members < :max';
      values[':max'] = MAX_TEAM_MEMBERS;
    }
  }
  return {
    update: keys.team(team.id as string),
    set: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
    condition,
    names,
    values,
    onFail: (current) => {
      if (!current) return notFound('Team');
      if (change.members && change.members > 0 && (current._members as number) >= MAX_TEAM_MEMBERS) {
        return conflict('team-full', `A team has at most ${MAX_TEAM_MEMBERS} members.`);
      }
      return busy('concurrent-modification', 'The team changed while this request ran; retry.');
    },
  };
}
