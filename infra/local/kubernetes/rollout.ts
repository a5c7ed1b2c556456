/**
 * The simulator's deployment controller, computed from time instead of run as a loop: a spec write
 * starts a rollout, and a deployment's status and pods are a pure function of that rollout and "now".
 * New pods become ready one per `podStartMs`; old pods go away as new ones get ready. Images tagged
 * `:bad` never get ready and hit ProgressDeadlineExceeded after `badImageFailAfterMs` (default: the
 * deployment's progressDeadlineSeconds); images tagged `:hang` never get ready and never report it.
 */
import { createHash } from 'node:crypto';
import { clone, isObject, type JsonObject } from './json.ts';

export interface RolloutTiming {
  podStartMs: number;
  badImageFailAfterMs: number | undefined;
}

/** Ready pods of an earlier pod template, still serving while the new one rolls out. */
interface OldReplicaSet {
  hash: string;
  template: JsonObject;
  pods: number;
}

export interface Rollout {
  deployment: string;
  namespace: string;
  templateHash: string;
  template: JsonObject;
  revision: number;
  startedAt: number;
  replicas: number;
  /** New-template pods already ready when this rollout started (a scale-up, or a rollback to an old template). */
  readyAtStart: number;
  old: OldReplicaSet[];
  image: 'ok' | 'bad' | 'hang';
  progressDeadlineMs: number;
}

/** What a rollout looks like at one instant. */
export interface RolloutState {
  readyNew: number;
  oldPods: number;
  done: boolean;
  failed: boolean;
}

export const revisionAnnotation = 'deployment.kubernetes.io/revision';

/** The rollout after a deployment's spec was written (`previous` is the rollout that was running). */
export function startRollout(
  deployment: JsonObject,
  previous: Rollout | undefined,
  now: number,
  timing: RolloutTiming,
): Rollout {
  const spec = deployment.spec as JsonObject;
  const metadata = deployment.metadata as JsonObject;
  const template = clone(spec.template as JsonObject);
  const templateHash = podTemplateHash(template);
  const replicas = Number(spec.replicas ?? 1);
  const base = {
    deployment: String(metadata.name),
    namespace: String(metadata.namespace),
    templateHash,
    template,
    startedAt: now,
    replicas,
    image: imageKind(template),
    progressDeadlineMs: Number(spec.progressDeadlineSeconds ?? 600) * 1000,
  };
  if (!previous) return { ...base, revision: 1, readyAtStart: 0, old: [] };
  const before = stateAt(previous, now, timing);
  const survivors = keepNewest(previous.old, before.oldPods);
  if (previous.templateHash === templateHash) {
    return { ...base, revision: previous.revision, readyAtStart: Math.min(before.readyNew, replicas), old: survivors };
  }
  // A new template: the previous template's ready pods join the old ones; a return to an old template reuses its pods.
  const sets = [...survivors, { hash: previous.templateHash, template: previous.template, pods: before.readyNew }];
  const reused = sets.filter((set) => set.hash === templateHash).reduce((sum, set) => sum + set.pods, 0);
  return {
    ...base,
    revision: previous.revision + 1,
    readyAtStart: Math.min(reused, replicas),
    old: sets.filter((set) => set.hash !== templateHash && set.pods > 0),
  };
}

/** The old sets with `alive` pods left in all, the most recent ones kept first. */
function keepNewest(sets: OldReplicaSet[], alive: number): OldReplicaSet[] {
  let left = alive;
  return sets
    .toReversed()
    .map((set) => {
      const pods = Math.min(set.pods, left);
      left -= pods;
      return { ...set, pods };
    })
    .filter((set) => set.pods > 0)
    .reverse();
}

export function stateAt(rollout: Rollout, now: number, timing: RolloutTiming): RolloutState {
  const elapsed = now - rollout.startedAt;
  const started =
    rollout.image !== 'ok'
      ? 0
      : timing.podStartMs <= 0
        ? Number.POSITIVE_INFINITY
        : Math.floor(elapsed / timing.podStartMs);
  const readyNew = Math.min(rollout.replicas, rollout.readyAtStart + started);
  const oldTotal = rollout.old.reduce((sum, set) => sum + set.pods, 0);
  // Old pods are scaled down as new ones become ready; with none ready yet they keep serving.
  const oldPods = readyNew >= rollout.replicas ? 0 : Math.max(0, oldTotal - (readyNew - rollout.readyAtStart));
  const done = readyNew >= rollout.replicas && oldPods === 0;
  const failed = !done && rollout.image === 'bad' && elapsed >= failAfterMs(rollout, timing);
  return { readyNew, oldPods, done, failed };
}

/** When the state next changes (for the ticker that tells watchers), or undefined when it is settled. */
export function nextChangeAt(rollout: Rollout, now: number, timing: RolloutTiming): number | undefined {
  const state = stateAt(rollout, now, timing);
  if (state.done || state.failed || rollout.image === 'hang') return undefined;
  if (rollout.image === 'bad') return rollout.startedAt + failAfterMs(rollout, timing);
  const started = Math.floor((now - rollout.startedAt) / timing.podStartMs);
  return rollout.startedAt + (started + 1) * timing.podStartMs;
}

function failAfterMs(rollout: Rollout, timing: RolloutTiming): number {
  return timing.badImageFailAfterMs ?? rollout.progressDeadlineMs;
}

/** `status` of the deployment at `now`, as the deployment controller would have written it. */
export function deploymentStatus(
  deployment: JsonObject,
  rollout: Rollout,
  now: number,
  timing: RolloutTiming,
): JsonObject {
  const state = stateAt(rollout, now, timing);
  const metadata = deployment.metadata as JsonObject;
  const replicas = rollout.replicas + state.oldPods;
  const available = state.readyNew + state.oldPods;
  const maxUnavailable = Math.floor(rollout.replicas * 0.25);
  const replicaSet = `${rollout.deployment}-${rollout.templateHash}`;
  const doneAt = timestamp(
    rollout.startedAt + Math.max(0, rollout.replicas - rollout.readyAtStart) * Math.max(0, timing.podStartMs),
  );
  const progressing = state.failed
    ? condition(
        'Progressing',
        'False',
        'ProgressDeadlineExceeded',
        `ReplicaSet "${replicaSet}" has timed out progressing.`,
        timestamp(rollout.startedAt + failAfterMs(rollout, timing)),
      )
    : state.done
      ? condition(
          'Progressing',
          'True',
          'NewReplicaSetAvailable',
          `ReplicaSet "${replicaSet}" has successfully progressed.`,
          doneAt,
        )
      : condition(
          'Progressing',
          'True',
          'ReplicaSetUpdated',
          `ReplicaSet "${replicaSet}" is progressing.`,
          timestamp(rollout.startedAt),
        );
  const availableCondition =
    available >= rollout.replicas - maxUnavailable
      ? condition(
          'Available',
          'True',
          'MinimumReplicasAvailable',
          'Deployment has minimum availability.',
          timestamp(rollout.startedAt),
        )
      : condition(
          'Available',
          'False',
          'MinimumReplicasUnavailable',
          'Deployment does not have minimum availability.',
          timestamp(rollout.startedAt),
        );
  return withoutZeros({
    observedGeneration: Number(metadata.generation ?? 1),
    replicas,
    updatedReplicas: rollout.replicas,
    readyReplicas: available,
    availableReplicas: available,
    unavailableReplicas: Math.max(0, replicas - available),
    conditions: [availableCondition, progressing],
  });
}

/** The deployment's pods at `now`: the new template's (ready or not) and the old ones still serving. */
export function deploymentPods(rollout: Rollout, now: number, timing: RolloutTiming): JsonObject[] {
  const state = stateAt(rollout, now, timing);
  const pods: JsonObject[] = [];
  for (let index = 0; index < rollout.replicas; index++) {
    pods.push(
      pod(rollout, rollout.templateHash, rollout.template, index, index < state.readyNew ? 'ok' : notReady(rollout)),
    );
  }
  let oldLeft = state.oldPods;
  for (const set of [...rollout.old].reverse()) {
    const count = Math.min(set.pods, oldLeft);
    oldLeft -= count;
    for (let index = 0; index < count; index++) pods.push(pod(rollout, set.hash, set.template, index, 'ok'));
  }
  return pods;
}

type PodCondition = 'ok' | 'starting' | 'bad' | 'hang';

function notReady(rollout: Rollout): PodCondition {
  return rollout.image === 'ok' ? 'starting' : rollout.image;
}

function pod(rollout: Rollout, hash: string, template: JsonObject, index: number, condition: PodCondition): JsonObject {
  const name = `${rollout.deployment}-${hash}-${shortId(`${hash}/${index}`, 5)}`;
  const templateMetadata = (template.metadata ?? {}) as JsonObject;
  const spec = (template.spec ?? {}) as JsonObject;
  const containers = (Array.isArray(spec.containers) ? spec.containers : []) as JsonObject[];
  const ready = condition === 'ok';
  const started = timestamp(rollout.startedAt);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: rollout.namespace,
      uid: uuidFrom(`${rollout.namespace}/${name}`),
      labels: { ...((templateMetadata.labels ?? {}) as JsonObject), 'pod-template-hash': hash },
      ...(templateMetadata.annotations ? { annotations: templateMetadata.annotations } : {}),
      creationTimestamp: started,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${rollout.deployment}-${hash}`,
          uid: uuidFrom(`${rollout.namespace}/${rollout.deployment}-${hash}`),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { ...spec, nodeName: 'simulated-node' },
    status: {
      phase: condition === 'ok' || condition === 'hang' ? 'Running' : 'Pending',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: started }],
      containerStatuses: containers.map((container) => ({
        name: container.name ?? null,
        image: container.image ?? null,
        ready,
        started: condition === 'ok' || condition === 'hang',
        restartCount: 0,
        // What the runtime pulled, as a digest (empty until pulled, as kubelets report it).
        imageID: condition === 'ok' || condition === 'hang' ? imageIdOf(String(container.image)) : '',
        state: containerState(condition, String(container.image), started),
      })),
      startTime: started,
    },
  };
}

function containerState(condition: PodCondition, image: string, startedAt: string): JsonObject {
  switch (condition) {
    case 'ok':
    case 'hang':
      return { running: { startedAt } };
    case 'bad':
      return { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` } };
    case 'starting':
      return { waiting: { reason: 'ContainerCreating' } };
  }
}

/** `bad` or `hang` when any container's image carries that tag. */
function imageKind(template: JsonObject): Rollout['image'] {
  const spec = (template.spec ?? {}) as JsonObject;
  const containers = (Array.isArray(spec.containers) ? spec.containers : []) as JsonObject[];
  const tags = containers.map((container) => imageTag(String(container.image ?? '')));
  if (tags.includes('bad')) return 'bad';
  if (tags.includes('hang')) return 'hang';
  return 'ok';
}

export function imageTag(image: string): string | undefined {
  const lastSegment = image.split('@')[0]?.split('/').at(-1) ?? '';
  return lastSegment.includes(':') ? lastSegment.split(':').at(-1) : undefined;
}

/** Kubernetes names pods with this alphabet (no vowels, no look-alike digits). */
const alphabet = 'bcdfghjklmnpqrstvwxz2456789';

function podTemplateHash(template: JsonObject): string {
  return shortId(JSON.stringify(sortKeys(template)), 10);
}

/**
 * The simulated registry's answer for an image: a digest reference stays itself; a tag resolves to
 * a digest derived from the reference, so one tag always names one digest (until a test re-tags it).
 */
export function imageIdOf(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image;
  const colon = image.lastIndexOf(':');
  const repository = colon > image.lastIndexOf('/') ? image.slice(0, colon) : image;
  return `${repository}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

export function shortId(seed: string, length: number): string {
  const digest = createHash('sha256').update(seed).digest();
  return Array.from(digest.subarray(0, length), (byte) => alphabet[byte % alphabet.length]).join('');
}

export function uuidFrom(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key])]),
  );
}

function condition(type: string, status: string, reason: string, message: string, time: string): JsonObject {
  return { type, status, lastUpdateTime: time, lastTransitionTime: time, reason, message };
}

/** A Kubernetes timestamp: RFC 3339 in whole seconds, as the API server writes them. */
export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** The API leaves zero counts out of deployment status (omitempty). */
function withoutZeros(status: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(status).filter(([, value]) => value !== 0));
}
