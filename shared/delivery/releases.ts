import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { appScope } from '../auth/scope.ts';
import { busy, conflict, notFound } from '../errors.ts';
import { keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { present } from '../store/records.ts';
import { getMany, type Item, query, queryPage, type Write } from '../store/table.ts';
import { deliveryKeys } from './keys.ts';

/**
 * The release history of one environment: every deployment that reached the cluster gets the next
 * revision, with its outcome. The head item names the current release (the last that succeeded),
 * which is what a failed rollout returns to and what a one-click rollback starts from.
 */
export interface Release {
  revision: number;
  image: string;
  /** The digest the pods ran (`sha256:…`), read from the cluster when the rollout completed. */
  digest?: string;
  replicas: number;
  strategy: Record<string, unknown>;
  progress_deadline_seconds?: number;
  deployment_id: string;
  kind: 'deploy' | 'rollback';
  deployed_by: string;
  deployed_at: string;
  outcome: 'succeeded' | 'rolled_back' | 'failed';
  /** For a rollback: the revision it restored. */
  restored_revision?: number;
}

/**
 * Writes for a new release: the next revision (the head's `last` + 1, conditioned on the head not
 * having moved), and the head pointing at it when it succeeded.
 */
export function releaseWrites(appId: string, env: string, head: Item | undefined, release: Omit<Release, 'revision'>) {
  const last = (head?.last as number | undefined) ?? 0;
  const revision = last + 1;
  const full: Release = { ...release, revision };
  const headKey = deliveryKeys.releaseHead(appId, env);
  const current = release.outcome === 'succeeded' ? full : (head?.current as Release | undefined);
  const writes: Write[] = [
    {
      put: { ...deliveryKeys.release(appId, env, revision), ...full },
      onFail: () => busy('release-exists', 'Another release took this revision; retry.'),
    },
    {
      put: { ...headKey, last: revision, ...(current ? { current } : {}) },
      condition: head ? '#last = :last' : 'attribute_not_exists(PK)',
      ...(head ? { names: { '#last': 'last' }, values: { ':last': last } } : {}),
      onFail: () => busy('concurrent-release', 'Another release was recorded for this environment.'),
    },
  ];
  return { revision, writes };
}

/** The release a rollback goes to: the one asked for, or the last success before the current one. */
export async function rollbackTarget(
  appId: string,
  env: string,
  head: Item | undefined,
  targetRevision: number | undefined,
): Promise<Release> {
  const current = head?.current as Release | undefined;
  if (targetRevision !== undefined) {
    const [found] = await getMany([deliveryKeys.release(appId, env, targetRevision)]);
    if (!found) throw notFound(`Release ${targetRevision}`);
    if (found.outcome !== 'succeeded') {
      throw conflict('not-a-good-release', `Release ${targetRevision} did not succeed; roll back to one that did.`);
    }
    return present<Release>(found);
  }
  const previous = await previousGoodRelease(appId, env, current?.revision);
  if (!previous) {
    throw conflict('no-rollback-target', 'This environment has no earlier successful release to roll back to.');
  }
  return previous;
}

/** The newest succeeded release below `revision` (a few Query pages at most: failures are rare). */
async function previousGoodRelease(
  appId: string,
  env: string,
  below: number | undefined,
): Promise<Release | undefined> {
  if (below === undefined) return undefined;
  let after: Item | undefined = { ...deliveryKeys.release(appId, env, below) };
  for (let pages = 0; pages < 10 && after; pages++) {
    const page = await query({
      partition: deliveryKeys.releaseHead(appId, env).PK,
      prefix: 'REV#',
      limit: 25,
      startAfter: after,
      newestFirst: true,
    });
    const good = page.items.find((i) => i.outcome === 'succeeded');
    if (good) return present<Release>(good);
    after = page.lastKey;
  }
  return undefined;
}

/** `GET /apps/{id}/envs/{env}/releases`, newest first. */
export async function listReleases(
  caller: Caller,
  appId: string,
  env: string,
  page: PageRequest,
): Promise<Page<Release>> {
  const { access, items } = await signInAndRead(caller, [keys.app(appId), keys.env(appId, env)]);
  const [app, envItem] = items;
  if (!app || !access.can('app.read', appScope(app.project_id as string, appId))) throw notFound('Application');
  if (!envItem) throw notFound('Environment');
  const result = await queryPage({
    partition: deliveryKeys.releaseHead(appId, env).PK,
    prefix: 'REV#',
    page,
    newestFirst: true,
  });
  return { items: result.items.map((i) => present<Release>(i)), next_cursor: result.next_cursor };
}
