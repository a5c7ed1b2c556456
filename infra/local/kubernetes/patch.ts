/**
 * The Kubernetes simulator's patch formats: JSON merge patch (RFC 7386, also used for strategic merge
 * patch, whose list-merge keys the simulator does not model) and JSON patch (RFC 6902). Server-side
 * apply lives in apply.ts.
 */
import { jsonViolation } from '../../../shared/http/json.ts';
import { clone, isObject, type Json, type JsonObject, sameJson } from './json.ts';
import { badRequest, KubernetesError } from './status.ts';

/**
 * A decoded body the simulator can work on: its merges and apply recurse, so a body nested deeper
 * than any real object, or with a `__proto__` key (an assignment would make it a prototype), is a 400.
 */
export function withinLimits<T>(value: T): T {
  const violation = jsonViolation(value, { maxDepth: 100, reservedKeys: ['__proto__'] });
  if (violation) throw badRequest(`error decoding the request body: ${violation.reason} at ${violation.at}`);
  return value;
}

/** RFC 7386: objects merge key by key, `null` deletes, anything else replaces. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** RFC 6902 operations on a copy of `document`; a failing operation is a 422 as kube-apiserver answers. */
export function jsonPatch(document: Json, operations: unknown): Json {
  if (!Array.isArray(operations)) throw patchError('a JSON patch must be an array of operations');
  let result = clone(document);
  for (const operation of operations) {
    if (!isObject(operation) || typeof operation.op !== 'string' || typeof operation.path !== 'string') {
      throw patchError('each JSON patch operation needs "op" and "path"');
    }
    result = applyOperation(result, operation);
  }
  return result;
}

function applyOperation(document: Json, operation: JsonObject): Json {
  const path = pointer(operation.path as string);
  const from = typeof operation.from === 'string' ? pointer(operation.from) : undefined;
  switch (operation.op) {
    case 'add':
      return setAt(document, path, requireValue(operation), 'add');
    case 'replace':
      getAt(document, path);
      return setAt(document, path, requireValue(operation), 'replace');
    case 'remove':
      return removeAt(document, path);
    case 'move': {
      if (!from) throw patchError('"move" needs "from"');
      const value = getAt(document, from);
      return setAt(removeAt(document, from), path, value, 'add');
    }
    case 'copy':
      if (!from) throw patchError('"copy" needs "from"');
      return setAt(document, path, clone(getAt(document, from)), 'add');
    case 'test':
      if (!sameJson(getAt(document, path), operation.value)) throw patchError(`test failed at ${operation.path}`);
      return document;
    default:
      throw patchError(`unknown JSON patch operation "${String(operation.op)}"`);
  }
}

function requireValue(operation: JsonObject): Json {
  if (!('value' in operation)) throw patchError(`"${String(operation.op)}" needs "value"`);
  return clone(operation.value as Json);
}

function pointer(text: string): string[] {
  if (text === '') return [];
  if (!text.startsWith('/')) throw patchError(`invalid JSON pointer "${text}"`);
  return text
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function getAt(document: Json, path: string[]): Json {
  let node: Json | undefined = document;
  for (const token of path) {
    node = Array.isArray(node) ? node[Number(token)] : isObject(node) ? node[token] : undefined;
    if (node === undefined) throw patchError(`no value at /${path.join('/')}`);
  }
  return node;
}

function setAt(document: Json, path: string[], value: Json, mode: 'add' | 'replace'): Json {
  if (path.length === 0) return value;
  const parent = getAt(document, path.slice(0, -1));
  const last = path.at(-1) as string;
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw patchError(`bad array index ${last}`);
    parent.splice(index, mode === 'add' ? 0 : 1, value);
  } else if (isObject(parent)) {
    parent[last] = value;
  } else {
    throw patchError(`cannot set a child of a scalar at /${path.join('/')}`);
  }
  return document;
}

function removeAt(document: Json, path: string[]): Json {
  getAt(document, path);
  const parent = getAt(document, path.slice(0, -1));
  const last = path.at(-1) as string;
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (isObject(parent)) delete parent[last];
  return document;
}

function patchError(message: string): KubernetesError {
  return new KubernetesError(
    422,
    'Invalid',
    `the server rejected our request due to an error in our request: ${message}`,
  );
}
