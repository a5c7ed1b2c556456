/**
 * batch/v1 Jobs in the Kubernetes simulator: what kube-apiserver checks and fills in on a write
 * (`admitJob`), and the job controller (`JobController`), which watches the store as the real one
 * does. It runs one pod per Job (labels `job-name`, `controller-uid` and their `batch.kubernetes.io/`
 * forms; owner reference to the Job) and sums it up in the Job's status: `active`/`ready`, then
 * `succeeded` with `completionTime` and condition Complete, or `failed` and condition Failed —
 * BackoffLimitExceeded at the pod's first failure (no retries: the simulator behaves as if
 * `backoffLimit` were 0), DeadlineExceeded once `activeDeadlineSeconds` pass (its pods are deleted).
 * `ttlSecondsAfterFinished` after it finished, the Job is deleted in the foreground, dependents first.
 */
import { randomUUID } from 'node:crypto';
import { beforeDelete } from './gc.ts';
import { clone, isObject, type JsonObject, sameJson } from './json.ts';
import { imageTag, shortId, timestamp } from './rollout.ts';
import { invalid, type StatusCause } from './status.ts';
import { metadataOf, type ObjectStore, type StoreEvent } from './store.ts';
import { checkName, containerCauses, dnsLabel, integerCauses } from './validation.ts';

const restartPolicies = ['OnFailure', 'Never'];

/** The labels the job controller puts on its pods (kube 1.27+ writes both forms). */
function jobLabels(name: string, uid: string): Record<string, string> {
  return {
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': name,
    'controller-uid': uid,
    'job-name': name,
  };
}

/**
 * A Job on its way to the store: checked, defaulted, given its generated selector and pod labels;
 * the pod template and selector cannot change afterwards, and status is the controller's alone.
 */
export function admitJob(job: JsonObject, previous: JsonObject | undefined): void {
  const metadata = metadataOf(job);
  const name = String(metadata.name);
  const ref = { group: 'batch', plural: 'jobs', kind: 'Job', name };
  // The name becomes a label value, hence a DNS label rather than a subdomain.
  checkName(ref, dnsLabel);
  const spec = child(job, 'spec');
  const template = child(spec, 'template');
  const podSpec = child(template, 'spec');
  podSpec.restartPolicy ??= 'Always';
  const causes = jobCauses(spec, podSpec);
  if (!previous && spec.selector !== undefined && spec.manualSelector !== true) {
    causes.push({ field: 'spec.selector', message: 'Invalid value: `selector` will be auto-generated' });
  }
  if (causes.length > 0) throw invalid(ref, causes);
  const before = (previous?.spec ?? {}) as JsonObject;
  const uid = String(metadata.uid);
  if (spec.manualSelector !== true) {
    spec.selector = before.selector ?? { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  }
  const templateMetadata = child(template, 'metadata');
  templateMetadata.labels = { ...child(templateMetadata, 'labels'), ...jobLabels(name, uid) };
  fillDefaults(spec, podSpec);
  for (const field of previous ? ['template', 'selector'] : []) {
    if (!sameJson(spec[field], before[field])) {
      throw invalid(ref, [{ field: `spec.${field}`, message: 'Invalid value: field is immutable' }]);
    }
  }
  job.status = clone((previous?.status as JsonObject | undefined) ?? {});
}

function jobCauses(spec: JsonObject, podSpec: JsonObject): StatusCause[] {
  const causes: StatusCause[] = [
    ...containerCauses(podSpec, 'spec.template.spec'),
    ...integerCauses(spec.backoffLimit, 'spec.backoffLimit', 0),
    ...integerCauses(spec.activeDeadlineSeconds, 'spec.activeDeadlineSeconds', 1),
    ...integerCauses(spec.ttlSecondsAfterFinished, 'spec.ttlSecondsAfterFinished', 0),
  ];
  if (!restartPolicies.includes(String(podSpec.restartPolicy))) {
    causes.push({
      field: 'spec.template.spec.restartPolicy',
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: "${String(podSpec.restartPolicy)}": supported values: "OnFailure", "Never"`,
    });
  }
  for (const field of ['completions', 'parallelism']) {
    if (spec[field] !== undefined && spec[field] !== 1) {
      causes.push({
        field: `spec.${field}`,
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(spec[field])}: the Kubernetes simulator runs one pod per Job`,
      });
    }
  }
  return causes;
}

/** The defaults kube-apiserver writes into a Job and its pod template. */
function fillDefaults(spec: JsonObject, podSpec: JsonObject): void {
  spec.backoffLimit ??= 6;
  spec.completions ??= 1;
  spec.parallelism ??= 1;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= 'TerminatingOrFailed';
  podSpec.terminationGracePeriodSeconds ??= 30;
  podSpec.dnsPolicy ??= 'ClusterFirst';
  podSpec.schedulerName ??= 'default-scheduler';
  podSpec.securityContext ??= {};
  for (const container of podSpec.containers as JsonObject[]) {
    const tag = imageTag(String(container.image));
    container.terminationMessagePath ??= '/dev/termination-log';
    container.terminationMessagePolicy ??= 'File';
    container.imagePullPolicy ??= tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
    container.resources ??= {};
  }
}

/** `parent[key]` as an object, created when absent. */
function child(parent: JsonObject, key: string): JsonObject {
  const value = isObject(parent[key]) ? parent[key] : {};
  parent[key] = value;
  return value;
}

/** The job controller: reacts to Jobs and their pods changing, and to the deadlines it set itself. */
export class JobController {
  readonly #store: ObjectStore;
  /** One timer per Job (`namespace/name`): its active deadline, or its TTL once finished. */
  #timers = new Map<string, NodeJS.Timeout>();
  readonly #unsubscribe: () => void;

  constructor(store: ObjectStore) {
    this.#store = store;
    // After the write that caused it has been answered, as a watch-driven controller would.
    this.#unsubscribe = store.subscribe((event) => queueMicrotask(() => this.#changed(event)));
  }

  stop(): void {
    this.#unsubscribe();
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #changed(event: StoreEvent): void {
    const metadata = metadataOf(event.object);
    if (event.resource === 'jobs') this.#sync(`${metadata.namespace}/${metadata.name}`);
    if (event.resource !== 'pods') return;
    const owners = (metadata.ownerReferences ?? []) as JsonObject[];
    for (const owner of owners.filter((reference) => reference.kind === 'Job')) {
      this.#sync(`${metadata.namespace}/${owner.name}`);
    }
  }

  /** Brings one Job's pod and status in line with the spec and the time; idempotent. */
  #sync(key: string): void {
    clearTimeout(this.#timers.get(key));
    this.#timers.delete(key);
    const [namespace = '', name = ''] = key.split('/');
    const stored = this.#store.get('jobs', namespace, name);
    if (!stored) return;
    const job = stored.object;
    const spec = job.spec as JsonObject;
    const status = clone((job.status ?? {}) as JsonObject);
    const now = Date.now();
    const finished = finishCondition(status);
    if (finished) {
      if (typeof spec.ttlSecondsAfterFinished !== 'number') return;
      const due = Date.parse(String(finished.lastTransitionTime)) + spec.ttlSecondsAfterFinished * 1000;
      if (now >= due) this.#expire(job);
      else this.#wake(key, due - now);
      return;
    }
    if (spec.suspend === true) return;
    if (status.startTime === undefined) {
      this.#createPod(job);
      status.startTime = timestamp(now);
    }
    const pods = this.#pods(job);
    const phase = (pod: JsonObject) => String((pod.status as JsonObject | undefined)?.phase ?? 'Pending');
    const active = pods.filter((pod) => !['Succeeded', 'Failed'].includes(phase(pod)));
    const deadline = typeof spec.activeDeadlineSeconds === 'number' ? spec.activeDeadlineSeconds * 1000 : undefined;
    const deadlineAt = deadline === undefined ? undefined : Date.parse(String(status.startTime)) + deadline;
    let next: JsonObject;
    if (deadlineAt !== undefined && now >= deadlineAt) {
      for (const pod of active) this.#store.remove('pods', namespace, String(metadataOf(pod).name));
      next = finish(status, now, active.length, {
        reason: 'DeadlineExceeded',
        message: 'Job was active longer than specified deadline',
      });
    } else if (pods.some((pod) => phase(pod) === 'Succeeded')) {
      next = finish(status, now, 0);
    } else if (pods.some((pod) => phase(pod) === 'Failed')) {
      next = finish(status, now, 1, {
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
      });
    } else {
      const ready = active.filter((pod) => phase(pod) === 'Running').length;
      next = { ...status, active: active.length, ready, terminating: 0, uncountedTerminatedPods: {} };
      if (deadlineAt !== undefined) this.#wake(key, deadlineAt - now);
    }
    if (!sameJson(next, job.status)) this.#store.write('jobs', { ...clone(job), status: next }, stored.owners);
  }

  /** The TTL-after-finished controller's delete: foreground, so the pods and Secrets go first. */
  #expire(job: JsonObject): void {
    const metadata = metadataOf(job);
    beforeDelete(this.#store, job, 'Foreground');
    this.#store.remove('jobs', String(metadata.namespace), String(metadata.name));
  }

  #wake(key: string, inMs: number): void {
    const timer = setTimeout(() => this.#sync(key), Math.max(0, inMs) + 1);
    timer.unref();
    this.#timers.set(key, timer);
  }

  #createPod(job: JsonObject): void {
    const metadata = metadataOf(job);
    const name = String(metadata.name);
    const uid = String(metadata.uid);
    const template = (job.spec as JsonObject).template as JsonObject;
    const templateMetadata = (template.metadata ?? {}) as JsonObject;
    const generateName = `${name.slice(0, 57)}-`;
    const pod: JsonObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...clone(templateMetadata),
        name: `${generateName}${shortId(`${uid}/${Date.now()}`, 5)}`,
        generateName,
        namespace: metadata.namespace ?? null,
        uid: randomUUID(),
        creationTimestamp: timestamp(Date.now()),
        ownerReferences: [
          { apiVersion: 'batch/v1', kind: 'Job', name, uid, controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: { ...clone((template.spec ?? {}) as JsonObject), nodeName: 'simulated-node' },
      status: { phase: 'Pending', qosClass: 'BestEffort' },
    };
    this.#store.write('pods', pod, []);
  }

  #pods(job: JsonObject): JsonObject[] {
    const { uid, namespace } = metadataOf(job);
    return this.#store
      .list('pods', String(namespace))
      .map((stored) => stored.object)
      .filter((pod) => ((metadataOf(pod).ownerReferences ?? []) as JsonObject[]).some((owner) => owner.uid === uid));
  }
}

function finishCondition(status: JsonObject): JsonObject | undefined {
  const conditions = (status.conditions ?? []) as JsonObject[];
  return conditions.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/** The status of a Job that just finished: Complete when no failure is given. */
function finish(
  status: JsonObject,
  now: number,
  failed: number,
  failure?: { reason: string; message: string },
): JsonObject {
  const time = timestamp(now);
  const condition = {
    type: failure ? 'Failed' : 'Complete',
    status: 'True',
    lastProbeTime: time,
    lastTransitionTime: time,
  };
  const { active: _active, ...rest } = status;
  return {
    ...rest,
    ...(failure ? { failed } : { succeeded: 1, completionTime: time }),
    ready: 0,
    terminating: 0,
    uncountedTerminatedPods: {},
    conditions: [failure ? { ...condition, ...failure } : condition],
  };
}
