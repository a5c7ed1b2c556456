/**
 * One Secrets Manager secret per record (`<prefix><record id>`), holding a JSON document that never
 * goes in the table: a Git webhook endpoint's signing secrets, a chat channel's webhook URL. Reads
 * are cached per record and version (a number the table raises on every change), so a change is
 * seen at once and a warm container makes no Secrets Manager call per use.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

export interface RecordSecrets<T> {
  create(id: string, value: T): Promise<void>;
  put(id: string, value: T): Promise<void>;
  /** The value as of `version`: cached, so pass the version the record holds now. */
  read(id: string, version: number): Promise<T>;
  /** At once, without a recovery window: nothing can use it any more. */
  remove(id: string): Promise<void>;
}

let client: SecretsManagerClient | undefined;
const secrets = () => {
  client ??= new SecretsManagerClient({});
  return client;
};

/** The secrets of one kind of record; `prefix` is read at each call (it is configuration). */
export function recordSecrets<T>(prefix: () => string): RecordSecrets<T> {
  const name = (id: string) => `${prefix()}${id}`;
  const cache = new Map<string, T>();
  return {
    async create(id, value) {
      await secrets().send(new CreateSecretCommand({ Name: name(id), SecretString: JSON.stringify(value) }));
    },
    async put(id, value) {
      await secrets().send(new PutSecretValueCommand({ SecretId: name(id), SecretString: JSON.stringify(value) }));
    },
    async read(id, version) {
      const key = `${id}#${version}`;
      const cached = cache.get(key);
      if (cached) return cached;
      const out = await secrets().send(new GetSecretValueCommand({ SecretId: name(id) }));
      const value = JSON.parse(out.SecretString ?? '{}') as T;
      if (cache.size > 1000) cache.clear();
      cache.set(key, value);
      return value;
    },
    async remove(id) {
      await secrets().send(new DeleteSecretCommand({ SecretId: name(id), ForceDeleteWithoutRecovery: true }));
    },
  };
}
