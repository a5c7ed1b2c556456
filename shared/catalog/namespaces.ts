import { busy, conflict } from '../errors.ts';
import { keys } from '../store/keys.ts';
import { getMany, type Write } from '../store/table.ts';

/**
 * A namespace of a cluster belongs to the project of the environment that first names it (ADR 12).
 * Its claim holds the owning project and how many of the project's apps use it; each of those apps
 * has its own record naming its one environment there. Every change rides in the transaction of the
 * environment write that causes it, and the claim goes with its last user.
 */
export interface Placement {
  cluster_id: string;
  namespace: string;
}

export interface NamespaceUser {
  projectId: string;
  appId: string;
  env: string;
}

/** Makes `user` a user of the namespace: the claim is made or counted up, the app's record put. */
export function claimNamespace(place: Placement, user: NamespaceUser): Write[] {
  const { cluster_id: clusterId, namespace } = place;
  return [
    {
      update: keys.namespaceClaim(clusterId, namespace),
      set: 'SET #project = :project ADD #apps :one',
      condition: 'attribute_not_exists(PK) OR #project = :project',
      names: { '#project': 'project_id', '#apps': 'apps' },
      values: { ':project': user.projectId, ':one': 1 },
      // Who holds it is none of the caller's business: the message names no project or app.
      onFail: () => conflict('namespace-taken', `Namespace ${namespace} on this cluster belongs to another project.`),
    },
    {
      put: { ...keys.namespaceUser(clusterId, namespace, user.appId), env: user.env },
      condition: 'attribute_not_exists(PK)',
      onFail: () =>
        conflict(
          'namespace-taken',
          `Another environment of this application uses namespace ${namespace} on this cluster: both would apply the same Deployment.`,
        ),
    },
  ];
}

/**
 * Ends `user`'s use of the namespace: its record goes, and the claim is counted down or, for the
 * last user, deleted. The claim is read first to choose; the conditions make a change in between
 * fail the whole transaction (409, retry) instead of miscounting. No writes for an environment that
 * holds no claim (created before claims existed).
 */
export async function releaseNamespace(place: Placement, user: Omit<NamespaceUser, 'projectId'>): Promise<Write[]> {
  const claimKey = keys.namespaceClaim(place.cluster_id, place.namespace);
  const userKey = keys.namespaceUser(place.cluster_id, place.namespace, user.appId);
  const [claim, mine] = await getMany([claimKey, userKey]);
  if (!claim || mine?.env !== user.env) return [];
  const changed = () => busy('concurrent-modification', `Namespace ${place.namespace} is changing; retry.`);
  const apps = { '#apps': 'apps' };
  return [
    {
      delete: userKey,
      condition: '#env = :env',
      names: { '#env': 'env' },
      values: { ':env': user.env },
      onFail: changed,
    },
    (claim.apps as number) > 1
      ? {
          update: claimKey,
          set: 'ADD #apps :minus',
          condition: '#apps > :one',
          names: apps,
          values: { ':one': 1, ':minus': -1 },
          onFail: changed,
        }
      : { delete: claimKey, condition: '#apps = :one', names: apps, values: { ':one': 1 }, onFail: changed },
  ];
}
