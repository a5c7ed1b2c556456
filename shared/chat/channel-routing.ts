/**
 * Which channels an event goes to: the platform-wide ones (shared/notify/config.ts), unchanged, and
 * the channels of the event's project, read per event with one Query (at most
 * MAX_CHANNELS_PER_PROJECT), kept when their filters match, with their credentials from Secrets
 * Manager (cached per channel and credentials_version).
 */
import type { ChannelFilters, ChannelOutcome, ChannelPlatform } from '../domain/channel.ts';
import { CHANNEL_OUTCOMES, MAX_CHANNELS_PER_PROJECT } from '../domain/channel.ts';
import type { ReceivedChangeEvent } from '../events/envelope.ts';
import { logger } from '../logger.ts';
import { createChannel } from '../notify/channels.ts';
import { type ConfiguredChannel, channelsFor, InvalidChatConfig, loadChatConfig } from '../notify/config.ts';
import { query } from '../store/table.ts';
import { channelPolicy } from './channel-hosts.ts';
import { channelIndexes } from './channel-keys.ts';
import { readChannelCredentials } from './channel-secrets.ts';

/** Every channel that wants the event, platform-wide first; none when nothing is configured. */
export async function channelsForEvent(event: ReceivedChangeEvent): Promise<ConfiguredChannel[]> {
  return [...(await platformChannelsFor(event)), ...(await projectChannelsFor(event))];
}

/** The platform-wide channels that want the event; none without a configuration, or with an invalid one. */
async function platformChannelsFor(event: ReceivedChangeEvent): Promise<ConfiguredChannel[]> {
  const pending = loadChatConfig();
  if (!pending) return [];
  try {
    return channelsFor(await pending, event);
  } catch (error) {
    if (!(error instanceof InvalidChatConfig)) throw error;
    logger.error('Chat configuration is invalid; nothing sent to platform channels', { reason: error.message });
    return [];
  }
}

/** `Deployment Rolled Back` → rolled_back; undefined for a type that names no outcome (`Deployment Started`). */
export function outcomeOf(type: string): ChannelOutcome | undefined {
  const words = type.toLowerCase().split(' ');
  const last = words.at(-1) === 'back' ? words.slice(-2).join('_') : words.at(-1);
  return CHANNEL_OUTCOMES.find((outcome) => outcome === last);
}

/** The environment an event is about (deployment and approval events carry its name as `env`). */
const envOf = (event: ReceivedChangeEvent): string | undefined => {
  const env = (event.data as { env?: unknown } | null)?.env;
  return typeof env === 'string' ? env : undefined;
};

/** Every filter given must match; an event without an environment or outcome fails a filter on it. */
export function channelWants(filters: ChannelFilters, event: ReceivedChangeEvent): boolean {
  const matches = (list: readonly string[] | undefined, value: string | undefined) =>
    !list?.length || (value !== undefined && list.includes(value));
  return (
    matches(filters.event_types, event.type) &&
    matches(filters.environments, envOf(event)) &&
    matches(filters.outcomes, outcomeOf(event.type))
  );
}

/** The event's project's channels that want it, ready to send; none for an event without a project. */
export async function projectChannelsFor(event: ReceivedChangeEvent): Promise<ConfiguredChannel[]> {
  if (!event.project_id) return [];
  const { items } = await query({
    index: 'GSI2',
    partition: channelIndexes.channelsOfProject(event.project_id),
    limit: MAX_CHANNELS_PER_PROJECT,
  });
  const wanted = items.filter((item) => channelWants((item.filters ?? {}) as ChannelFilters, event));
  return Promise.all(
    wanted.map(async (item) => {
      const platform = item.platform as ChannelPlatform;
      const credentials = await readChannelCredentials(item.id as string, item.credentials_version as number);
      const target = { url: credentials.webhook_url, ...(credentials.secret ? { secret: credentials.secret } : {}) };
      return { id: `channel:${item.id as string}`, channel: createChannel(platform, target, channelPolicy(platform)) };
    }),
  );
}
