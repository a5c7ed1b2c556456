/**
 * Server-side apply for the Kubernetes simulator, reduced to what a deploy tool meets: each field
 * manager owns the leaf fields it set (lists count as one leaf: the simulator has no list-merge keys);
 * applying a different value to a field another manager owns is a 409 Conflict unless `force=true`;
 * fields a manager applied before and leaves out now are removed when nobody else owns them.
 * Plain writes (PUT, merge/JSON patches) take ownership of the fields they change ("Update").
 */
import { clone, isObject, type Json, type JsonObject, sameJson } from './json.ts';
import { KubernetesError } from './status.ts';

export interface FieldManager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  /** Owned leaf paths, each as JSON text of its keys (`["spec","replicas"]`). */
  fields: Set<string>;
}

/** Metadata the server sets; nobody owns it. */
const serverMetadata = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'managedFields',
]);

export interface ApplyRequest {
  existing: JsonObject;
  applied: JsonObject;
  owners: FieldManager[];
  manager: string;
  force: boolean;
  apiVersion: string;
  /** For the conflict message, e.g. `deployments.apps "web"`. */
  describe: string;
}

export function serverSideApply(request: ApplyRequest): { object: JsonObject; owners: FieldManager[] } {
  const { existing, applied, manager } = request;
  const appliedFields = new Set(leafPaths(applied).map((path) => JSON.stringify(path)));
  const others = request.owners.filter((owner) => !(owner.manager === manager && owner.operation === 'Apply'));
  const conflicts = conflictsWith(others, appliedFields, existing, applied);
  if (conflicts.length > 0 && !request.force) throw applyConflict(conflicts, request.describe);

  let object = deepMerge(existing, applied);
  const previous = request.owners.find((owner) => owner.manager === manager && owner.operation === 'Apply');
  for (const field of previous?.fields ?? []) {
    const ownedElsewhere = others.some((owner) => owner.fields.has(field));
    if (!appliedFields.has(field) && !ownedElsewhere) object = removePath(object, JSON.parse(field));
  }
  const released = request.force ? new Set(conflicts.map((c) => c.field)) : new Set<string>();
  const owners = others
    .map((owner) => ({ ...owner, fields: new Set([...owner.fields].filter((field) => !released.has(field))) }))
    .filter((owner) => owner.fields.size > 0);
  owners.push({ manager, operation: 'Apply', apiVersion: request.apiVersion, time: now(), fields: appliedFields });
  return { object, owners };
}

/** A plain write: `manager` takes every field whose value changed. */
export function recordUpdate(
  before: JsonObject | undefined,
  after: JsonObject,
  owners: FieldManager[],
  manager: string,
  apiVersion: string,
): FieldManager[] {
  const beforeFields = new Map(leafPaths(before ?? {}).map((path) => [JSON.stringify(path), valueAt(before, path)]));
  const changed = new Set<string>();
  for (const path of leafPaths(after)) {
    const field = JSON.stringify(path);
    if (!beforeFields.has(field) || !sameJson(beforeFields.get(field), valueAt(after, path))) changed.add(field);
  }
  if (changed.size === 0) return owners;
  const result = owners
    .map((owner) => ({ ...owner, fields: new Set([...owner.fields].filter((field) => !changed.has(field))) }))
    .filter((owner) => owner.fields.size > 0 || owner.manager === manager);
  const mine = result.find((owner) => owner.manager === manager && owner.operation === 'Update');
  if (mine) {
    for (const field of changed) mine.fields.add(field);
    mine.time = now();
  } else {
    result.push({ manager, operation: 'Update', apiVersion, time: now(), fields: changed });
  }
  return result.filter((owner) => owner.fields.size > 0);
}

/** `metadata.managedFields` in the FieldsV1 shape (`{"f:spec":{"f:replicas":{}}}`). */
export function managedFields(owners: FieldManager[]): JsonObject[] {
  return owners.map((owner) => {
    const tree: JsonObject = {};
    for (const field of owner.fields) {
      let node = tree;
      for (const key of JSON.parse(field) as string[]) {
        if (!isObject(node[`f:${key}`])) node[`f:${key}`] = {};
        node = node[`f:${key}`] as JsonObject;
      }
    }
    return {
      manager: owner.manager,
      operation: owner.operation,
      apiVersion: owner.apiVersion,
      time: owner.time,
      fieldsType: 'FieldsV1',
      fieldsV1: tree,
    };
  });
}

interface FieldConflict {
  manager: string;
  field: string;
}

function conflictsWith(
  others: FieldManager[],
  appliedFields: Set<string>,
  existing: JsonObject,
  applied: JsonObject,
): FieldConflict[] {
  const conflicts: FieldConflict[] = [];
  for (const field of appliedFields) {
    const path = JSON.parse(field) as string[];
    if (sameJson(valueAt(existing, path), valueAt(applied, path))) continue;
    for (const owner of others) if (owner.fields.has(field)) conflicts.push({ manager: owner.manager, field });
  }
  return conflicts;
}

function applyConflict(conflicts: FieldConflict[], describe: string): KubernetesError {
  const lines = conflicts.map((c) => `conflict with "${c.manager}": .${(JSON.parse(c.field) as string[]).join('.')}`);
  const noun = conflicts.length === 1 ? 'conflict' : 'conflicts';
  return new KubernetesError(409, 'Conflict', `Apply failed with ${conflicts.length} ${noun}: ${lines.join('\n')}`, {
    causes: conflicts.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with "${c.manager}"`,
      field: `.${(JSON.parse(c.field) as string[]).join('.')}`,
    })),
    name: describe,
  });
}

/** Leaf paths of an object's user fields: scalars, lists and empty maps; no status, no server metadata. */
function leafPaths(object: JsonObject): string[][] {
  const paths: string[][] = [];
  const walk = (node: Json, path: string[]): void => {
    if (isObject(node) && Object.keys(node).length > 0) {
      for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
    } else {
      paths.push(path);
    }
  };
  for (const [key, value] of Object.entries(object)) {
    if (key === 'status' || key === 'apiVersion' || key === 'kind') continue;
    if (key === 'metadata' && isObject(value)) {
      for (const [field, child] of Object.entries(value)) {
        if (!serverMetadata.has(field)) walk(child, ['metadata', field]);
      }
      continue;
    }
    walk(value, [key]);
  }
  return paths;
}

function valueAt(object: Json | undefined, path: string[]): Json | undefined {
  let node = object;
  for (const key of path) node = isObject(node) ? node[key] : undefined;
  return node;
}

function deepMerge(base: JsonObject, overlay: JsonObject): JsonObject {
  const result = clone(base);
  for (const [key, value] of Object.entries(overlay)) {
    const current = result[key];
    result[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : clone(value);
  }
  return result;
}

/** Removes the field at `path` and any map it leaves empty. */
function removePath(object: JsonObject, path: string[]): JsonObject {
  const [key, ...rest] = path;
  if (key === undefined || !(key in object)) return object;
  const result = { ...object };
  const child = result[key];
  if (rest.length === 0) {
    delete result[key];
  } else if (isObject(child)) {
    const trimmed = removePath(child, rest);
    if (Object.keys(trimmed).length === 0) delete result[key];
    else result[key] = trimmed;
  }
  return result;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}
