/**
 * Secrets in the Kubernetes simulator, as kube-apiserver stores them: `stringData` folded into
 * `data` (base64) on every write, `data` values checked as base64, keys as kube checks them, type
 * `Opaque` by default and the key a `kubernetes.io/dockerconfigjson` Secret needs. The kubelet reads
 * them into containers' environments (kubelet.ts); owner references tie them to a Job (gc.ts).
 */
import { isObject, type JsonObject } from './json.ts';
import { badRequest, invalid, type StatusCause } from './status.ts';
import { checkName, dnsSubdomain } from './validation.ts';

const keyPattern = /^[-._a-zA-Z0-9]+$/;
const maxBytes = 1024 * 1024;
const requiredKeys: Record<string, string> = { 'kubernetes.io/dockerconfigjson': '.dockerconfigjson' };

export function admitSecret(secret: JsonObject): void {
  const name = String((secret.metadata as JsonObject).name);
  const ref = { group: '', plural: 'secrets', kind: 'Secret', name };
  checkName(ref, dnsSubdomain);
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(isObject(secret.data) ? secret.data : {})) {
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
      throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data[${key}]`);
    }
    data[key] = value;
  }
  for (const [key, value] of Object.entries(isObject(secret.stringData) ? secret.stringData : {})) {
    data[key] = Buffer.from(String(value)).toString('base64');
  }
  delete secret.stringData;
  secret.type ??= 'Opaque';
  const causes: StatusCause[] = Object.keys(data)
    .filter((key) => !keyPattern.test(key))
    .map((key) => ({
      field: `data[${key}]`,
      message: `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
    }));
  const size = Object.values(data).reduce((sum, value) => sum + Buffer.from(value, 'base64').length, 0);
  if (size > maxBytes)
    causes.push({
      field: 'data',
      reason: 'FieldValueTooLong',
      message: `Too long: must have at most ${maxBytes} bytes`,
    });
  const required = requiredKeys[String(secret.type)];
  if (required && !(required in data)) {
    causes.push({ field: `data[${required}]`, reason: 'FieldValueRequired', message: 'Required value' });
  }
  if (causes.length > 0) throw invalid(ref, causes);
  if (Object.keys(data).length > 0) secret.data = data;
}
