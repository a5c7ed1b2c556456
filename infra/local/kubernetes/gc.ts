/**
 * Owner references in the Kubernetes simulator, honoured as kube-controller-manager's garbage
 * collector does: deleting an object deletes its dependents (objects of its namespace whose
 * `metadata.ownerReferences` name its uid) after it (Background), before it (Foreground), or not at
 * all (Orphan: the references are removed instead). The policy comes from DeleteOptions, in the body
 * or the query; without one batch/v1 Jobs orphan their pods (kube-apiserver's default for them, kept
 * for compatibility: pass a policy) and every other kind deletes in the background.
 */
import { clone, type JsonObject } from './json.ts';
import { resourceTypes } from './resources.ts';
import { timestamp } from './rollout.ts';
import { badRequest, invalid } from './status.ts';
import { metadataOf, type ObjectStore } from './store.ts';

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

const policies = ['Foreground', 'Background', 'Orphan'];

/** The propagation policy of a DELETE of `kind`. */
export function propagationPolicy(kind: string, query: URLSearchParams, body: string | undefined): PropagationPolicy {
  let options: JsonObject = {};
  try {
    options = body?.trim() ? (JSON.parse(body) as JsonObject) : {};
  } catch (error) {
    throw badRequest(`error decoding DeleteOptions: ${(error as Error).message}`);
  }
  const orphan = query.get('orphanDependents') ?? options.orphanDependents;
  const policy = query.get('propagationPolicy') ?? options.propagationPolicy;
  if (policy !== undefined && policy !== null) {
    if (!policies.includes(String(policy))) {
      throw invalid({ group: 'meta.k8s.io', plural: 'deleteoptions', kind: 'DeleteOptions', name: '' }, [
        {
          field: 'propagationPolicy',
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: "${String(policy)}": supported values: "Foreground", "Background", "Orphan"`,
        },
      ]);
    }
    return policy as PropagationPolicy;
  }
  if (orphan !== undefined && orphan !== null) return String(orphan) === 'true' ? 'Orphan' : 'Background';
  return kind === 'Job' ? 'Orphan' : 'Background';
}

/**
 * Before `owner` leaves the store: Orphan strips its dependents' references to it; Foreground deletes
 * them first, depth first, and returns what kube-apiserver answers then (the owner, marked as being
 * deleted); Background leaves them to the collector.
 */
export function beforeDelete(store: ObjectStore, owner: JsonObject, policy: PropagationPolicy): JsonObject | undefined {
  const uid = String(metadataOf(owner).uid);
  if (policy === 'Orphan') {
    for (const { plural, object, owners } of dependents(store, owner)) {
      const orphaned = clone(object);
      const metadata = metadataOf(orphaned);
      const references = (metadata.ownerReferences as JsonObject[]).filter((reference) => reference.uid !== uid);
      if (references.length > 0) metadata.ownerReferences = references;
      else delete metadata.ownerReferences;
      store.write(plural, orphaned, owners);
    }
    return undefined;
  }
  if (policy === 'Background') return undefined;
  for (const dependent of dependents(store, owner)) {
    beforeDelete(store, dependent.object, 'Foreground');
    const metadata = metadataOf(dependent.object);
    store.remove(dependent.plural, metadata.namespace as string, String(metadata.name));
  }
  const answer = clone(owner);
  const metadata = metadataOf(answer);
  metadata.deletionTimestamp = timestamp(Date.now());
  metadata.finalizers = [...((metadata.finalizers as string[] | undefined) ?? []), 'foregroundDeletion'];
  return answer;
}

/** The collector: every deleted object's remaining dependents are deleted after it (Background). */
export function startGarbageCollector(store: ObjectStore): () => void {
  return store.subscribe((event) => {
    if (event.type !== 'DELETED') return;
    queueMicrotask(() => {
      for (const dependent of dependents(store, event.object)) {
        const metadata = metadataOf(dependent.object);
        store.remove(dependent.plural, metadata.namespace as string, String(metadata.name));
      }
    });
  });
}

function dependents(store: ObjectStore, owner: JsonObject) {
  const { uid, namespace } = metadataOf(owner);
  return resourceTypes
    .filter((type) => type.namespaced)
    .flatMap((type) =>
      store
        .list(type.plural, namespace === undefined ? undefined : String(namespace))
        .filter((stored) =>
          ((metadataOf(stored.object).ownerReferences ?? []) as JsonObject[]).some(
            (reference) => reference.uid === uid,
          ),
        )
        .map((stored) => ({ plural: type.plural, ...stored })),
    );
}
