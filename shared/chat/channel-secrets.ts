/**
 * A project channel's webhook URL and signing secret: one Secrets Manager secret per channel
 * (`<prefix><channel id>`), never in the table. Reads are cached per channel and
 * `credentials_version` (raised in the table on every change), so the notifier sees a new URL at
 * once and a warm container costs no Secrets Manager call per event.
 */
import { config } from '../config.ts';
import type { ChannelCredentials } from '../domain/channel.ts';
import { recordSecrets } from '../store/record-secrets.ts';

const channelSecrets = recordSecrets<ChannelCredentials>(() => config.chatChannelSecretPrefix);

export const createChannelCredentials = channelSecrets.create;
export const putChannelCredentials = channelSecrets.put;
export const readChannelCredentials = channelSecrets.read;
/** Deleting a channel deletes its secret at once: nothing can post with it any more. */
export const deleteChannelCredentials = channelSecrets.remove;
