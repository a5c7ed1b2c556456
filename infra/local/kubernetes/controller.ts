/**
 * The simulated deployment controller's state and effects: one rollout per deployment (its math is
 * in rollout.ts), the status written back to the store as time passes (a timer at each rollout's
 * next change, so watches see progress without anyone reading), the pods it reports, and the
 * events the controllers would write. cluster.ts hands it every deployment write.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FieldManager } from './apply.ts';
import { clone, isObject, type JsonObject, sameJson } from './json.ts';
import {
  deploymentPods,
  deploymentStatus,
  nextChangeAt,
  type Rollout,
  type RolloutTiming,
  revisionAnnotation,
  startRollout,
  stateAt,
  timestamp,
} from './rollout.ts';
import { metadataOf, type ObjectStore, type StoredObject } from './store.ts';

export class DeploymentController {
  readonly #store: ObjectStore;
  #timing: RolloutTiming;
  #rollouts = new Map<string, Rollout>();
  #timers = new Map<string, NodeJS.Timeout>();
  /** Rollouts whose old replica sets were reported scaled down already. */
  #drained = new WeakSet<Rollout>();

  constructor(store: ObjectStore, timing: RolloutTiming) {
    this.#store = store;
    this.#timing = timing;
  }

  /** New timing: status is recomputed from it on the next read, and the ticker is re-planned. */
  setTiming(changes: Partial<RolloutTiming>): void {
    this.#timing = { ...this.#timing, ...changes };
    for (const key of this.#rollouts.keys()) {
      const [namespace = '', name = ''] = key.split('/');
      this.refresh(namespace, name);
    }
  }

  /** Stores a deployment write: a new spec starts a rollout; the status is the rollout's as of now. */
  write(object: JsonObject, previous: StoredObject | undefined, owners: FieldManager[]): JsonObject {
    const metadata = metadataOf(object);
    const key = `${metadata.namespace}/${metadata.name}`;
    const now = Date.now();
    let rollout = this.#rollouts.get(key);
    if (!previous || !sameJson(object.spec, previous.object.spec) || !rollout) {
      const next = startRollout(object, rollout, now, this.#timing);
      if (next.templateHash !== rollout?.templateHash || next.replicas !== rollout?.replicas)
        this.#rolloutEvents(next, object);
      rollout = next;
      this.#rollouts.set(key, rollout);
    }
    metadata.annotations = {
      ...(isObject(metadata.annotations) ? metadata.annotations : {}),
      [revisionAnnotation]: String(rollout.revision),
    };
    object.status = deploymentStatus(object, rollout, now, this.#timing);
    const written = clone(this.#store.write('deployments', object, owners));
    this.#schedule(key, rollout, now);
    return written;
  }

  /** Brings a deployment's stored status up to "now" (a write, so watchers hear of it). */
  refresh(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const stored = this.#store.get('deployments', namespace, name);
    const rollout = this.#rollouts.get(key);
    if (!stored || !rollout) return;
    const now = Date.now();
    const status = deploymentStatus(stored.object, rollout, now, this.#timing);
    if (!sameJson(stored.object.status, status)) {
      this.#store.write('deployments', { ...clone(stored.object), status }, stored.owners);
      this.#reportDrained(rollout, stored.object, now);
    }
    this.#schedule(key, rollout, now);
  }

  /** The deployment is gone: its rollout and timer with it. */
  forget(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    clearTimeout(this.#timers.get(key));
    this.#timers.delete(key);
    this.#rollouts.delete(key);
  }

  /** The pods of every rollout (in one namespace, or all), as of now. */
  pods(namespace: string | undefined): JsonObject[] {
    const now = Date.now();
    return [...this.#rollouts.values()]
      .filter((rollout) => namespace === undefined || rollout.namespace === namespace)
      .flatMap((rollout) => {
        const stored = this.#store.get('deployments', rollout.namespace, rollout.deployment);
        const resourceVersion = String(metadataOf(stored?.object ?? { metadata: {} }).resourceVersion ?? '');
        return deploymentPods(rollout, now, this.#timing).map((pod) => {
          metadataOf(pod).resourceVersion = resourceVersion;
          return pod;
        });
      });
  }

  stop(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  /** One timer per rollout, at its next change. */
  #schedule(key: string, rollout: Rollout, now: number): void {
    clearTimeout(this.#timers.get(key));
    this.#timers.delete(key);
    const at = nextChangeAt(rollout, now, this.#timing);
    if (at === undefined) return;
    const [namespace = '', name = ''] = key.split('/');
    const timer = setTimeout(() => this.refresh(namespace, name), Math.max(0, at - now) + 1);
    timer.unref();
    this.#timers.set(key, timer);
  }

  #rolloutEvents(rollout: Rollout, deployment: JsonObject): void {
    const replicaSet = `${rollout.deployment}-${rollout.templateHash}`;
    this.#event(
      deployment,
      'Normal',
      'ScalingReplicaSet',
      `Scaled up replica set ${replicaSet} to ${rollout.replicas}`,
    );
    if (rollout.image === 'bad') {
      const image = JSON.stringify(rollout.template).match(/"image":"([^"]*:bad)"/)?.[1] ?? '';
      this.#event(
        deployment,
        'Warning',
        'Failed',
        `Failed to pull image "${image}": manifest unknown`,
        `${replicaSet}-pod`,
      );
    }
  }

  #reportDrained(rollout: Rollout, deployment: JsonObject, now: number): void {
    if (rollout.old.length === 0 || this.#drained.has(rollout) || stateAt(rollout, now, this.#timing).oldPods > 0)
      return;
    this.#drained.add(rollout);
    for (const set of rollout.old) {
      this.#event(
        deployment,
        'Normal',
        'ScalingReplicaSet',
        `Scaled down replica set ${rollout.deployment}-${set.hash} to 0`,
      );
    }
  }

  /** An Event about the deployment (or, with `podName`, one of its pods), as the controllers write them. */
  #event(deployment: JsonObject, kind: 'Normal' | 'Warning', reason: string, message: string, podName?: string): void {
    const metadata = metadataOf(deployment);
    const namespace = String(metadata.namespace);
    const involvedName = podName ?? String(metadata.name);
    const time = timestamp(Date.now());
    const event: JsonObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${involvedName}.${randomBytes(8).toString('hex')}`,
        namespace,
        uid: randomUUID(),
        creationTimestamp: time,
      },
      involvedObject: podName
        ? { kind: 'Pod', namespace, name: podName, apiVersion: 'v1' }
        : { kind: 'Deployment', namespace, name: involvedName, uid: metadata.uid ?? null, apiVersion: 'apps/v1' },
      reason,
      message,
      type: kind,
      source: { component: podName ? 'kubelet' : 'deployment-controller' },
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
      reportingComponent: podName ? 'kubelet' : 'deployment-controller',
      reportingInstance: '',
    };
    this.#store.write('events', event, []);
  }
}
