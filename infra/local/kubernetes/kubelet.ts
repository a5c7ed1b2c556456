/**
 * The simulator's kubelet, for stored pods (a Job's; a deployment's pods are computed by rollout.ts):
 * it starts a new pod's containers one pace later, plays what each one "runs" (program.ts: its lines
 * into PodLogs, then its exit) and writes the pod's status as it goes — Pending (ContainerCreating;
 * ImagePullBackOff for `:bad` images; CreateContainerConfigError, or ContainerCreating for a volume,
 * while a Secret it reads is missing, retried when Secrets change), Running, then Succeeded or Failed.
 * Images tagged `:hang` never exit; other containers exit 0 one pace after starting, writing nothing.
 * A deleted pod stops at once and its logs go with it.
 */
import { randomBytes } from 'node:crypto';
import { buildProgram, isBuilderImage } from './builds.ts';
import { clone, isObject, type JsonObject, sameJson } from './json.ts';
import type { PodLogs } from './pod-logs.ts';
import type { ContainerLaunch, Program } from './program.ts';
import { imageTag, timestamp } from './rollout.ts';
import { metadataOf, type ObjectStore, type StoreEvent } from './store.ts';

/** kubelet's fallback termination message: the log's last lines, up to this much. */
const fallbackMessageLines = 80;
const fallbackMessageBytes = 2048;

export class SimulatedKubelet {
  readonly #store: ObjectStore;
  readonly #logs: PodLogs;
  #paceMs: number;
  /** Timers of the pods being run, by `namespace/name`. */
  #timers = new Map<string, Set<NodeJS.Timeout>>();
  /** Pods waiting for a Secret, by `namespace/name`. */
  #waiting = new Set<string>();
  readonly #unsubscribe: () => void;

  constructor(store: ObjectStore, logs: PodLogs, paceMs: number) {
    this.#store = store;
    this.#logs = logs;
    this.#paceMs = paceMs;
    // After the write that caused it has been answered, as a watch-driven kubelet would.
    this.#unsubscribe = store.subscribe((event) => queueMicrotask(() => this.#changed(event)));
  }

  /** The time a pod takes to start, and the unit of a container program's clock. */
  setPace(paceMs: number): void {
    this.#paceMs = paceMs;
  }

  stop(): void {
    this.#unsubscribe();
    for (const timers of this.#timers.values()) for (const timer of timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #changed(event: StoreEvent): void {
    const metadata = metadataOf(event.object);
    const key = `${metadata.namespace}/${metadata.name}`;
    if (event.resource === 'pods' && event.type === 'ADDED') this.#start(key);
    if (event.resource === 'pods' && event.type === 'DELETED') {
      for (const timer of this.#timers.get(key) ?? []) clearTimeout(timer);
      this.#timers.delete(key);
      this.#waiting.delete(key);
      this.#logs.drop(String(metadata.uid));
    }
    if (event.resource === 'secrets' && event.type !== 'DELETED') {
      for (const waiting of [...this.#waiting].filter((pod) => pod.startsWith(`${metadata.namespace}/`))) {
        this.#start(waiting);
      }
    }
  }

  #start(key: string): void {
    const pod = this.#pod(key);
    if (!pod) return;
    this.#waiting.delete(key);
    const containers = containersOf(pod);
    const pulling = containers.find((container) => imageTag(String(container.image)) === 'bad');
    if (pulling) {
      const message = `Back-off pulling image "${String(pulling.image)}"`;
      this.#write(key, (status) => pending(status, containers, { reason: 'ImagePullBackOff', message }));
      return;
    }
    const prepared = prepare(this.#store, pod, containers);
    if ('waiting' in prepared) {
      this.#waiting.add(key);
      this.#write(key, (status) => pending(status, containers, prepared.waiting));
      return;
    }
    this.#write(key, (status) => pending(status, containers, { reason: 'ContainerCreating' }));
    this.#after(key, 1, () => this.#run(key, containers, prepared.launches));
  }

  #run(key: string, containers: JsonObject[], launches: ContainerLaunch[]): void {
    const startedAt = timestamp(Date.now());
    this.#write(key, (status) => running(status, containers, startedAt));
    const uid = String(metadataOf(this.#pod(key) ?? { metadata: {} }).uid);
    launches.forEach((launch, index) => {
      const container = containers[index] as JsonObject;
      const name = String(container.name);
      const program = programFor(launch);
      for (const { at, line } of program.output) this.#after(key, at, () => this.#logs.write(uid, name, line));
      const exit = program.exit;
      if (!exit) return;
      this.#after(key, exit.at, () => {
        const message = exit.message ?? (exit.code !== 0 ? this.#fallbackMessage(container, uid) : undefined);
        this.#write(key, (status) =>
          terminated(status, name, { code: exit.code, startedAt, ...(message ? { message } : {}) }),
        );
        this.#logs.end(uid, name);
      });
    });
  }

  /** `FallbackToLogsOnError`: a failed container without a message gets the end of its log. */
  #fallbackMessage(container: JsonObject, uid: string): string | undefined {
    if (container.terminationMessagePolicy !== 'FallbackToLogsOnError') return undefined;
    const lines = this.#logs
      .text(uid, String(container.name))
      .split('\n')
      .slice(-fallbackMessageLines - 1);
    const tail = Buffer.from(lines.join('\n'));
    return tail.subarray(Math.max(0, tail.length - fallbackMessageBytes)).toString() || undefined;
  }

  /** Runs `action` `units` paces from now, unless the pod is deleted first. */
  #after(key: string, units: number, action: () => void): void {
    const timers = this.#timers.get(key) ?? new Set();
    this.#timers.set(key, timers);
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, units * this.#paceMs);
    timer.unref();
    timers.add(timer);
  }

  #pod(key: string): JsonObject | undefined {
    const [namespace = '', name = ''] = key.split('/');
    return this.#store.get('pods', namespace, name)?.object;
  }

  #write(key: string, change: (status: JsonObject) => void): void {
    const [namespace = '', name = ''] = key.split('/');
    const stored = this.#store.get('pods', namespace, name);
    if (!stored) return;
    const pod = clone(stored.object);
    const status = isObject(pod.status) ? pod.status : {};
    change(status);
    pod.status = status;
    if (!sameJson(pod.status, stored.object.status)) this.#store.write('pods', pod, stored.owners);
  }
}

function programFor(launch: ContainerLaunch): Program {
  const hangs = imageTag(launch.image) === 'hang';
  if (isBuilderImage(launch.image)) return buildProgram(launch, hangs);
  return hangs ? { output: [] } : { output: [], exit: { at: 1, code: 0 } };
}

type Prepared = { launches: ContainerLaunch[] } | { waiting: { reason: string; message?: string } };

/** Each container's environment with its Secret references read, or why the pod cannot start yet. */
function prepare(store: ObjectStore, pod: JsonObject, containers: JsonObject[]): Prepared {
  const namespace = String(metadataOf(pod).namespace);
  const secretData = (name: string): Record<string, string> | undefined => {
    const secret = store.get('secrets', namespace, name)?.object;
    if (!secret) return undefined;
    const data = (isObject(secret.data) ? secret.data : {}) as Record<string, string>;
    return Object.fromEntries(
      Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]),
    );
  };
  const spec = (pod.spec ?? {}) as JsonObject;
  for (const volume of (Array.isArray(spec.volumes) ? spec.volumes : []) as JsonObject[]) {
    const secret = isObject(volume.secret) ? volume.secret : undefined;
    if (secret && !secret.optional && !secretData(String(secret.secretName))) {
      return { waiting: { reason: 'ContainerCreating' } };
    }
  }
  const launches: ContainerLaunch[] = [];
  for (const container of containers) {
    const env: Record<string, string> = {};
    for (const source of (Array.isArray(container.envFrom) ? container.envFrom : []) as JsonObject[]) {
      const ref = (source.secretRef ?? source.configMapRef) as JsonObject | undefined;
      const data = source.secretRef ? secretData(String(ref?.name)) : undefined;
      if (!data && !ref?.optional)
        return configError(`${source.secretRef ? 'secret' : 'configmap'} "${ref?.name}" not found`);
      for (const [key, value] of Object.entries(data ?? {})) env[`${source.prefix ?? ''}${key}`] = value;
    }
    for (const variable of (Array.isArray(container.env) ? container.env : []) as JsonObject[]) {
      const name = String(variable.name);
      const from = isObject(variable.valueFrom) ? variable.valueFrom : undefined;
      const ref = from && ((from.secretKeyRef ?? from.configMapKeyRef) as JsonObject | undefined);
      if (!from) {
        env[name] = String(variable.value ?? '');
      } else if (isObject(from.fieldRef)) {
        env[name] = fieldOf(pod, String(from.fieldRef.fieldPath));
      } else if (ref) {
        const data = from.secretKeyRef ? secretData(String(ref.name)) : undefined;
        const kind = from.secretKeyRef ? 'secret' : 'configmap';
        if (!data && !ref.optional) return configError(`${kind} "${ref.name}" not found`);
        const value = data?.[String(ref.key)];
        if (data && value === undefined && !ref.optional) {
          return configError(`couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`);
        }
        if (value !== undefined) env[name] = value;
      }
    }
    launches.push({ image: String(container.image), env });
  }
  return { launches };
}

function configError(message: string): Prepared {
  return { waiting: { reason: 'CreateContainerConfigError', message } };
}

/** `fieldRef.fieldPath` on the pod: `metadata.name`, `metadata.namespace`, `spec.nodeName`, … */
function fieldOf(pod: JsonObject, path: string): string {
  let node: unknown = pod;
  for (const key of path.split('.')) node = isObject(node) ? node[key] : undefined;
  return node === undefined || node === null ? '' : String(node);
}

function containersOf(pod: JsonObject): JsonObject[] {
  const spec = (pod.spec ?? {}) as JsonObject;
  return (Array.isArray(spec.containers) ? spec.containers : []) as JsonObject[];
}

function pending(status: JsonObject, containers: JsonObject[], waiting: JsonObject): void {
  const now = timestamp(Date.now());
  status.phase = 'Pending';
  status.conditions = [
    podCondition('PodScheduled', 'True', now),
    podCondition('Initialized', 'True', now),
    podCondition('ContainersReady', 'False', now, 'ContainersNotReady'),
    podCondition('Ready', 'False', now, 'ContainersNotReady'),
  ];
  status.containerStatuses = containers.map((container) => ({
    name: container.name ?? null,
    image: container.image ?? null,
    imageID: '',
    ready: false,
    started: false,
    restartCount: 0,
    state: { waiting },
  }));
  status.hostIP = '10.0.0.10';
  status.startTime ??= now;
}

function running(status: JsonObject, containers: JsonObject[], startedAt: string): void {
  status.phase = 'Running';
  status.podIP = '10.0.1.10';
  status.conditions = [
    podCondition('PodScheduled', 'True', String(status.startTime)),
    podCondition('Initialized', 'True', String(status.startTime)),
    podCondition('ContainersReady', 'True', startedAt),
    podCondition('Ready', 'True', startedAt),
  ];
  status.containerStatuses = containers.map((container) => ({
    name: container.name ?? null,
    image: container.image ?? null,
    imageID: `${String(container.image).split(':')[0]}@sha256:${randomBytes(32).toString('hex')}`,
    containerID: `containerd://${randomBytes(32).toString('hex')}`,
    ready: true,
    started: true,
    restartCount: 0,
    state: { running: { startedAt } },
  }));
}

/** One container exited; once all have, the pod's phase says how. */
function terminated(
  status: JsonObject,
  container: string,
  exit: { code: number; startedAt: string; message?: string },
): void {
  const now = timestamp(Date.now());
  const statuses = (status.containerStatuses ?? []) as JsonObject[];
  const entry = statuses.find((candidate) => candidate.name === container);
  if (!entry) return;
  entry.ready = false;
  entry.started = false;
  entry.state = {
    terminated: {
      exitCode: exit.code,
      reason: exit.code === 0 ? 'Completed' : 'Error',
      ...(exit.message ? { message: exit.message } : {}),
      startedAt: exit.startedAt,
      finishedAt: now,
      containerID: entry.containerID ?? null,
    },
  };
  const states = statuses.map((candidate) => (candidate.state as JsonObject).terminated as JsonObject | undefined);
  if (states.some((state) => !state)) return;
  const failed = states.some((state) => state?.exitCode !== 0);
  status.phase = failed ? 'Failed' : 'Succeeded';
  const reason = failed ? 'PodFailed' : 'PodCompleted';
  status.conditions = [
    podCondition('PodScheduled', 'True', String(status.startTime)),
    podCondition('Initialized', 'True', String(status.startTime), reason),
    podCondition('ContainersReady', 'False', now, reason),
    podCondition('Ready', 'False', now, reason),
  ];
}

function podCondition(type: string, status: string, time: string, reason?: string): JsonObject {
  return { type, status, lastProbeTime: null, lastTransitionTime: time, ...(reason ? { reason } : {}) };
}
