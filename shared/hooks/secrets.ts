/**
 * Endpoint secrets in Secrets Manager, one secret per endpoint (`<prefix><hook id>`), holding the
 * current secret and, during a rotation's overlap, the previous one until a time. Reads are cached
 * per endpoint and `secret_version` (which a rotation raises in the table), so a rotation is seen at
 * once and a delivery costs no Secrets Manager call once warm.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { config } from '../config.ts';

const client = new SecretsManagerClient({});

export interface HookSecrets {
  current: string;
  previous?: string;
  /** ISO time the previous secret stops being accepted. */
  previous_until?: string;
}

const secretName = (hookId: string) => `${config.hookSecretPrefix}${hookId}`;
const cache = new Map<string, HookSecrets>();

export async function createHookSecrets(hookId: string, secrets: HookSecrets): Promise<void> {
  await client.send(new CreateSecretCommand({ Name: secretName(hookId), SecretString: JSON.stringify(secrets) }));
}

export async function putHookSecrets(hookId: string, secrets: HookSecrets): Promise<void> {
  await client.send(new PutSecretValueCommand({ SecretId: secretName(hookId), SecretString: JSON.stringify(secrets) }));
}

export async function readHookSecrets(hookId: string, version: number): Promise<HookSecrets> {
  const key = `${hookId}#${version}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretName(hookId) }));
  const secrets = JSON.parse(out.SecretString ?? '{}') as HookSecrets;
  if (cache.size > 1000) cache.clear();
  cache.set(key, secrets);
  return secrets;
}

/** Deleting an endpoint deletes its secret at once: nothing can sign for it any more. */
export async function deleteHookSecrets(hookId: string): Promise<void> {
  await client.send(new DeleteSecretCommand({ SecretId: secretName(hookId), ForceDeleteWithoutRecovery: true }));
}

/** The secrets a delivery may be signed with now. */
export const acceptedSecrets = (s: HookSecrets, now = Date.now()): string[] =>
  s.previous && s.previous_until && Date.parse(s.previous_until) > now ? [s.current, s.previous] : [s.current];
