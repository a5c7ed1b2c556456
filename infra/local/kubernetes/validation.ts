/**
 * Checks kube-apiserver makes that more than one of the simulator's kinds share: object names, a pod
 * template's containers, integer fields. The field checks return the causes of a 422 Invalid answer.
 */
import { isObject, type JsonObject } from './json.ts';
import { invalid, type ObjectRef, type StatusCause } from './status.ts';

export const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function checkName(ref: ObjectRef, pattern: RegExp): void {
  if (pattern.test(ref.name) && ref.name.length <= 253) return;
  throw invalid(ref, [
    {
      field: 'metadata.name',
      message: `Invalid value: "${ref.name}": a lowercase RFC 1123 name must consist of lower case alphanumeric characters or '-'`,
    },
  ]);
}

/** A pod template's containers (`path` is its spec's): at least one, each with a name and an image. */
export function containerCauses(podSpec: JsonObject, path: string): StatusCause[] {
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers : [];
  const causes: StatusCause[] = [];
  if (containers.length === 0) {
    causes.push({ field: `${path}.containers`, reason: 'FieldValueRequired', message: 'Required value' });
  }
  containers.forEach((container, index) => {
    for (const field of ['name', 'image']) {
      if (!isObject(container) || typeof container[field] !== 'string' || !container[field]) {
        causes.push({
          field: `${path}.containers[${index}].${field}`,
          reason: 'FieldValueRequired',
          message: 'Required value',
        });
      }
    }
  });
  return causes;
}

/** An integer field at or above `minimum`, when set. */
export function integerCauses(value: unknown, field: string, minimum: number): StatusCause[] {
  if (value === undefined || (typeof value === 'number' && Number.isInteger(value) && value >= minimum)) return [];
  return [{ field, message: `Invalid value: ${JSON.stringify(value)}: must be greater than or equal to ${minimum}` }];
}
