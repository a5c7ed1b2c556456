/**
 * A project channel's webhook URL and signing secret: one Secrets Manager secret per channel
 * (`<prefix><channel id>`), never in the table. Reads are cached per channel and
 * `credentials_version` (raised in the table on every change), so the notifier sees a new URL at
 * once and a warm container costs no Secrets Manager call per event.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { config } from '../config.ts';
import type { ChannelCredentials } from '../domain/channel.ts';

const client = new SecretsManagerClient({});
const secretName = (channelId: string) => `${config.chatChannelSecretPrefix}${channelId}`;
const cache = new Map<string, ChannelCredentials>();

export async function createChannelCredentials(channelId: string, credentials: ChannelCredentials): Promise<void> {
  await client.send(
    new CreateSecretCommand({ Name: secretName(channelId), SecretString: JSON.stringify(credentials) }),
  );
}

export async function putChannelCredentials(channelId: string, credentials: ChannelCredentials): Promise<void> {
  await client.send(
    new PutSecretValueCommand({ SecretId: secretName(channelId), SecretString: JSON.stringify(credentials) }),
  );
}

export async function readChannelCredentials(channelId: string, version: number): Promise<ChannelCredentials> {
  const key = `${channelId}#${version}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretName(channelId) }));
  const credentials = JSON.parse(out.SecretString ?? '{}') as ChannelCredentials;
  if (cache.size > 1000) cache.clear();
  cache.set(key, credentials);
  return credentials;
}

/** Deleting a channel deletes its secret at once: nothing can post with it any more. */
export async function deleteChannelCredentials(channelId: string): Promise<void> {
  await client.send(new DeleteSecretCommand({ SecretId: secretName(channelId), ForceDeleteWithoutRecovery: true }));
}
