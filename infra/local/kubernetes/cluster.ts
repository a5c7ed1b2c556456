/**
 * The simulated cluster behind the Kubernetes simulator's HTTP API: the verbs (get, list, create,
 * replace, patch, apply, delete) on the store with kube-apiserver's rules (resourceVersion
 * preconditions, generation only on spec changes, field managers); deployments go through the
 * simulated deployment controller (controller.ts), which owns their status, pods and events.
 * Not a Kubernetes: no scheduler, no nodes, no containers.
 */
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { type FieldManager, managedFields, recordUpdate, serverSideApply } from './apply.ts';
import { DeploymentController } from './controller.ts';
import { clone, isObject, type JsonObject, sameJson } from './json.ts';
import { jsonPatch, mergePatch, withinLimits } from './patch.ts';
import { apiVersionOf, type ResourceType, resourceTypes } from './resources.ts';
import { type RolloutTiming, timestamp } from './rollout.ts';
import { fieldSelector, labelSelector } from './selectors.ts';
import {
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  KubernetesError,
  notFound,
  type StatusCause,
  successStatus,
  unsupportedMediaType,
} from './status.ts';
import { metadataOf, ObjectStore, type StoredObject } from './store.ts';
import { checkName, containerCauses, dnsLabel, dnsSubdomain, integerCauses } from './validation.ts';
import { admit, cascade } from './workloads.ts';

/** Where a request points: a resource type, maybe a namespace, maybe one object. */
export interface Target {
  type: ResourceType;
  namespace?: string;
  name?: string;
}

export interface WriteOptions {
  query: URLSearchParams;
  /** The client's User-Agent: its first word names the field manager when `fieldManager` is absent. */
  userAgent: string;
  /** The request body: a DELETE's DeleteOptions. */
  body?: string;
}

const protectedNamespaces = new Set(['default', 'kube-system', 'kube-public']);
const type = (plural: string): ResourceType => resourceTypes.find((t) => t.plural === plural) as ResourceType;
const namespaces = type('namespaces');
const deployments = type('deployments');

export class SimulatedCluster {
  readonly store = new ObjectStore();
  readonly #controller: DeploymentController;

  constructor(timing: RolloutTiming) {
    this.#controller = new DeploymentController(this.store, timing);
    for (const name of protectedNamespaces)
      this.#commit({ type: namespaces, name }, undefined, { metadata: { name } }, []);
  }

  get(target: Target): JsonObject {
    const name = target.name as string;
    // A Job's pods are stored; a deployment's are computed from its rollout (below).
    const jobPod = target.type.plural === 'pods' ? this.store.get('pods', target.namespace, name) : undefined;
    if (jobPod) return clone(jobPod.object);
    if (target.type.plural === 'pods') {
      const pod = this.#controller.pods(target.namespace).find((p) => metadataOf(p).name === name);
      if (!pod) throw notFound(ref(target, name));
      return pod;
    }
    if (target.type === deployments) this.#controller.refresh(target.namespace as string, name);
    const stored = this.store.get(target.type.plural, target.namespace, name);
    if (!stored) throw notFound(ref(target, name));
    return clone(stored.object);
  }

  /** The matching objects (with kind and apiVersion, as on a GET) and the revision the list is at. */
  list(target: Target, query: URLSearchParams): { items: JsonObject[]; resourceVersion: string } {
    if (target.type === deployments) {
      for (const stored of this.store.list('deployments', target.namespace)) {
        const metadata = metadataOf(stored.object);
        this.#controller.refresh(String(metadata.namespace), String(metadata.name));
      }
    }
    const objects =
      target.type.plural === 'pods'
        ? this.#controller.pods(target.namespace)
        : this.store.list(target.type.plural, target.namespace).map((stored) => clone(stored.object));
    const matches = selector(query);
    const jobPods = target.type.plural === 'pods' ? this.store.list('pods', target.namespace) : [];
    const items = [...objects, ...jobPods.map((stored) => clone(stored.object))].filter(matches);
    return { items, resourceVersion: String(this.store.revision) };
  }

  create(target: Target, body: unknown, options: WriteOptions): JsonObject {
    const object = requireObject(body);
    const name = String((object.metadata as JsonObject | undefined)?.name ?? '');
    if (!name)
      throw invalid(ref(target, ''), [
        {
          field: 'metadata.name',
          reason: 'FieldValueRequired',
          message: 'Required value: name or generateName is required',
        },
      ]);
    const named = { ...target, name };
    if (this.store.get(target.type.plural, target.namespace, name)) throw alreadyExists(ref(named, name));
    const owners = recordUpdate(undefined, object, [], manager(options), apiVersionOf(target.type));
    return this.#commit(named, undefined, object, owners, dryRun(options));
  }

  replace(target: Target, body: unknown, options: WriteOptions): JsonObject {
    const previous = this.#existing(target);
    const object = requireObject(body);
    const owners = recordUpdate(previous.object, object, previous.owners, manager(options), apiVersionOf(target.type));
    return this.#commit(target, previous, object, owners, dryRun(options));
  }

  /** PATCH in any of the four content types; `created` when an apply made a new object. */
  patch(
    target: Target,
    contentType: string,
    body: string,
    options: WriteOptions,
  ): { object: JsonObject; created: boolean } {
    const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    if (mediaType === 'application/apply-patch+yaml') return this.#apply(target, body, options);
    const previous = this.#existing(target);
    let patched: JsonObject;
    if (mediaType === 'application/merge-patch+json' || mediaType === 'application/strategic-merge-patch+json') {
      // Strategic merge patch is treated as a JSON merge patch: lists are replaced, not merged by key.
      patched = requireObject(mergePatch(previous.object, requireObject(parseJson(body))));
    } else if (mediaType === 'application/json-patch+json') {
      patched = requireObject(jsonPatch(previous.object, parseJson(body)));
    } else {
      throw unsupportedMediaType(contentType);
    }
    const owners = recordUpdate(previous.object, patched, previous.owners, manager(options), apiVersionOf(target.type));
    return { object: this.#commit(target, previous, patched, owners, dryRun(options)), created: false };
  }

  delete(target: Target, options: WriteOptions): JsonObject {
    const name = target.name as string;
    const previous = this.#existing(target);
    if (target.type === namespaces && protectedNamespaces.has(name)) {
      throw new KubernetesError(
        403,
        'Forbidden',
        `namespaces "${name}" is forbidden: this namespace may not be deleted`,
      );
    }
    if (dryRun(options)) return clone(previous.object);
    const foreground = cascade(this.store, target.type.kind, previous.object, options);
    if (target.type === namespaces) return this.#deleteNamespace(name);
    this.store.remove(target.type.plural, target.namespace, name);
    if (target.type === deployments) this.#controller.forget(target.namespace as string, name);
    const uid = String(metadataOf(previous.object).uid);
    return foreground ?? successStatus({ name, group: target.type.group, kind: target.type.plural, uid });
  }

  /** New timing for the simulated rollouts (tests shorten or stretch them). */
  setTiming(changes: Partial<RolloutTiming>): void {
    this.#controller.setTiming(changes);
  }

  stop(): void {
    this.#controller.stop();
  }

  #apply(target: Target, body: string, options: WriteOptions): { object: JsonObject; created: boolean } {
    const fieldManager = options.query.get('fieldManager');
    const name = target.name as string;
    if (!fieldManager) {
      throw invalid({ group: 'meta.k8s.io', plural: 'patchoptions', kind: 'PatchOptions.meta.k8s.io', name: '' }, [
        { field: 'fieldManager', reason: 'FieldValueRequired', message: 'Required value: is required for apply patch' },
      ]);
    }
    let applied: unknown;
    try {
      applied = parseYaml(body);
    } catch (error) {
      throw badRequest(`error decoding YAML: ${(error as Error).message}`);
    }
    const config = requireObject(withinLimits(applied));
    if (!config.apiVersion || !config.kind) {
      throw badRequest('apiVersion and kind must be set in an apply patch');
    }
    const previous = this.store.get(target.type.plural, target.namespace, name);
    const result = serverSideApply({
      existing: previous?.object ?? {},
      applied: config,
      owners: previous?.owners ?? [],
      manager: fieldManager,
      force: options.query.get('force') === 'true',
      apiVersion: apiVersionOf(target.type),
      describe: name,
    });
    return {
      object: this.#commit(target, previous, result.object, result.owners, dryRun(options)),
      created: !previous,
    };
  }

  /** Every write ends here: checks, server-set fields, the store, and the controller's reaction. */
  #commit(
    target: Target,
    previous: StoredObject | undefined,
    body: JsonObject,
    owners: FieldManager[],
    dry = false,
  ): JsonObject {
    const name = target.name as string;
    const object = this.#normalized(target, body);
    const metadata = metadataOf(object);
    if (previous) {
      const before = metadataOf(previous.object);
      if (metadata.resourceVersion !== undefined && metadata.resourceVersion !== before.resourceVersion) {
        throw conflict(
          ref(target, name),
          'the object has been modified; please apply your changes to the latest version and try again',
        );
      }
      metadata.uid = before.uid ?? null;
      metadata.creationTimestamp = before.creationTimestamp ?? null;
    } else {
      if (target.namespace !== undefined && !this.store.get('namespaces', undefined, target.namespace)) {
        throw notFound({ group: '', plural: 'namespaces', kind: 'Namespace', name: target.namespace });
      }
      metadata.uid = randomUUID();
      metadata.creationTimestamp = timestamp(Date.now());
    }
    // Checks and defaults that need the uid (a Job's selector is made of it), before the spec is compared.
    admit(target.type.kind, object, previous?.object);
    const generation = previous ? Number(metadataOf(previous.object).generation ?? 1) : 0;
    metadata.generation = previous && sameJson(object.spec, previous.object.spec) ? generation : generation + 1;
    delete metadata.resourceVersion;
    metadata.managedFields = managedFields(owners);
    if (dry)
      return {
        ...object,
        metadata: {
          ...metadata,
          resourceVersion: previous ? (metadataOf(previous.object).resourceVersion ?? null) : null,
        },
      };
    if (target.type === deployments) return this.#controller.write(object, previous, owners);
    return clone(this.store.write(target.type.plural, object, owners));
  }

  /** The body checked against the URL, with the kind's defaults and server-owned parts. */
  #normalized(target: Target, body: JsonObject): JsonObject {
    const name = target.name as string;
    const object = clone(body);
    const apiVersion = apiVersionOf(target.type);
    if ((object.apiVersion && object.apiVersion !== apiVersion) || (object.kind && object.kind !== target.type.kind)) {
      throw badRequest(
        `the API version or kind in the body (${String(object.apiVersion)}, ${String(object.kind)}) does not match ${apiVersion}, ${target.type.kind}`,
      );
    }
    object.apiVersion = apiVersion;
    object.kind = target.type.kind;
    const metadata = isObject(object.metadata) ? object.metadata : {};
    object.metadata = metadata;
    if (metadata.name !== undefined && metadata.name !== name) {
      throw badRequest(
        `the name of the object (${String(metadata.name)}) does not match the name on the URL (${name})`,
      );
    }
    metadata.name = name;
    if (target.namespace !== undefined) {
      if (metadata.namespace !== undefined && metadata.namespace !== target.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      metadata.namespace = target.namespace;
    }
    if (target.type === namespaces) {
      checkName(ref(target, name), dnsLabel);
      metadata.labels = { ...(isObject(metadata.labels) ? metadata.labels : {}), 'kubernetes.io/metadata.name': name };
      object.spec = { finalizers: ['kubernetes'] };
      object.status = { phase: 'Active' };
    }
    if (target.type === deployments) validateDeployment(target, object);
    return object;
  }

  #deleteNamespace(name: string): JsonObject {
    for (const plural of ['deployments', 'jobs', 'pods', 'secrets', 'events']) {
      for (const stored of this.store.list(plural, name)) {
        const objectName = String(metadataOf(stored.object).name);
        this.store.remove(plural, name, objectName);
        if (plural === 'deployments') this.#controller.forget(name, objectName);
      }
    }
    const removed = this.store.remove('namespaces', undefined, name) as JsonObject;
    metadataOf(removed).deletionTimestamp = timestamp(Date.now());
    removed.status = { phase: 'Terminating' };
    return removed;
  }

  #existing(target: Target): StoredObject {
    const name = target.name as string;
    const stored = this.store.get(target.type.plural, target.namespace, name);
    if (!stored) throw notFound(ref(target, name));
    return stored;
  }
}

/** The label and field selectors of a list or watch, as one predicate. */
export function selector(query: URLSearchParams): (object: JsonObject) => boolean {
  const labels = labelSelector(query.get('labelSelector'));
  const fields = fieldSelector(query.get('fieldSelector'));
  return (object) => labels(object) && fields(object);
}

/** The checks kube-apiserver makes that a deploy tool can trip over, and the defaults it fills in. */
function validateDeployment(target: Target, object: JsonObject): void {
  const name = target.name as string;
  checkName(ref(target, name), dnsSubdomain);
  const spec = isObject(object.spec) ? object.spec : {};
  object.spec = spec;
  const causes: StatusCause[] = [];
  const matchLabels =
    isObject(spec.selector) && isObject(spec.selector.matchLabels) ? spec.selector.matchLabels : undefined;
  const template = isObject(spec.template) ? spec.template : {};
  const templateLabels =
    isObject(template.metadata) && isObject(template.metadata.labels) ? template.metadata.labels : {};
  const podSpec = isObject(template.spec) ? template.spec : {};
  if (!matchLabels || Object.keys(matchLabels).length === 0) {
    causes.push({ field: 'spec.selector', reason: 'FieldValueRequired', message: 'Required value' });
  } else if (Object.entries(matchLabels).some(([key, value]) => templateLabels[key] !== value)) {
    causes.push({
      field: 'spec.template.metadata.labels',
      message: 'Invalid value: `selector` does not match template `labels`',
    });
  }
  causes.push(...containerCauses(podSpec, 'spec.template.spec'));
  const replicas = spec.replicas ?? 1;
  causes.push(...integerCauses(replicas, 'spec.replicas', 0));
  if (causes.length > 0) throw invalid(ref(target, name), causes);
  spec.replicas = replicas;
  spec.progressDeadlineSeconds ??= 600;
  spec.revisionHistoryLimit ??= 10;
  spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
  podSpec.restartPolicy ??= 'Always';
  delete object.status;
}

function ref(target: Target, name: string): { group: string; plural: string; kind: string; name: string } {
  return { group: target.type.group, plural: target.type.plural, kind: target.type.kind, name };
}

function requireObject(value: unknown): JsonObject {
  if (!isObject(value)) throw badRequest('the request body must be a JSON object');
  return value;
}

function parseJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest(`error decoding JSON: ${(error as Error).message}`);
  }
  return withinLimits(value);
}

function manager(options: WriteOptions): string {
  return options.query.get('fieldManager') || options.userAgent.split('/')[0] || 'unknown';
}

function dryRun(options: WriteOptions): boolean {
  return options.query.getAll('dryRun').includes('All');
}
