/**
 * Label and field selectors as kube-apiserver reads them from `?labelSelector=` and `?fieldSelector=`:
 * `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)` for labels; `path=value` and
 * `path!=value` on dotted paths (`metadata.name`, `involvedObject.name`) for fields.
 */
import { isObject, type Json, type JsonObject } from './json.ts';
import { badRequest } from './status.ts';

export type Selector = (object: JsonObject) => boolean;

export function labelSelector(text: string | null): Selector {
  if (!text) return () => true;
  const requirements = splitTerms(text).map(labelRequirement);
  return (object) => {
    const labels = ((object.metadata as JsonObject | undefined)?.labels ?? {}) as Record<string, string>;
    return requirements.every((requirement) => requirement(labels));
  };
}

export function fieldSelector(text: string | null): Selector {
  if (!text) return () => true;
  const requirements = splitTerms(text).map((term) => {
    const match = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!match) throw badRequest(`invalid field selector: "${term}"`);
    const [, path = '', operator, value] = match;
    return (object: JsonObject) => (fieldValue(object, path) === value) === (operator !== '!=');
  });
  return (object) => requirements.every((requirement) => requirement(object));
}

type LabelRequirement = (labels: Record<string, string>) => boolean;

function labelRequirement(term: string): LabelRequirement {
  const set = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const [, key = '', operator, list = ''] = set;
    const values = list.split(',').map((value) => value.trim());
    return operator === 'in'
      ? (labels) => key in labels && values.includes(labels[key] ?? '')
      : (labels) => !(key in labels) || !values.includes(labels[key] ?? '');
  }
  const comparison = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term);
  if (comparison) {
    const [, key = '', operator, value] = comparison;
    return operator === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
  }
  const exists = /^(!?)([\w./-]+)$/.exec(term);
  if (exists) {
    const [, not, key = ''] = exists;
    return not ? (labels) => !(key in labels) : (labels) => key in labels;
  }
  throw badRequest(`unable to parse requirement: "${term}"`);
}

/** Splits on commas outside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  terms.push(current.trim());
  return terms.filter((term) => term.length > 0);
}

function fieldValue(object: JsonObject, path: string): string {
  let node: Json | undefined = object;
  for (const key of path.split('.')) node = isObject(node) ? node[key] : undefined;
  return node === undefined || node === null ? '' : String(node);
}
