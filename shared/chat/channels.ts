/**
 * A project's chat channels: create, list, read, change, delete, and send a test message. The
 * webhook URL (it holds the platform's key) and the signing secret live in Secrets Manager only
 * (./channel-secrets.ts); the record and every answer and event show the platform, the host and
 * whether a secret is set. A project has at most MAX_CHANNELS_PER_PROJECT, counted on the project.
 */
import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import type { Permission } from '../auth/roles.ts';
import { projectScope } from '../auth/scope.ts';
import { changedFields } from '../catalog/changes.ts';
import {
  type ChannelCredentials,
  type ChannelFilters,
  type ChannelPatch,
  type ChannelPlatform,
  type ChannelTestResult,
  type ChannelView,
  MAX_CHANNELS_PER_PROJECT,
  type NewChannel,
} from '../domain/channel.ts';
import { notFound, staleVersion, unprocessable } from '../errors.ts';
import { isChangeEventType } from '../events/catalog.ts';
import { recordChange } from '../events/outbox.ts';
import { normalizeHost } from '../net/addresses.ts';
import { createChannel as chatChannel } from '../notify/channels.ts';
import { ChatDeliveryFailed } from '../notify/safe-fetch.ts';
import { newId } from '../store/ids.ts';
import { keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { createRecord, deleteRecord, present, replaceRecord, stamp } from '../store/records.ts';
import { type AlsoCommit, commit, type Item, queryPage, type Write } from '../store/table.ts';
import { channelPolicy, checkWebhookUrl } from './channel-hosts.ts';
import { channelIndexes, channelKeys } from './channel-keys.ts';
import {
  createChannelCredentials,
  deleteChannelCredentials,
  putChannelCredentials,
  readChannelCredentials,
} from './channel-secrets.ts';

const what = 'Channel';
/** The project's count of channels: bounds creation, and a project with channels is not deleted. */
const COUNT = '_channels';
const CHANGEABLE = ['name', 'filters', 'host', 'secret_set'];

export async function createChannel(
  caller: Caller,
  projectId: string,
  input: NewChannel,
  alsoCommit: AlsoCommit<ChannelView>,
): Promise<ChannelView> {
  await readProject(caller, projectId, 'channel.manage');
  const credentials = checkCredentials(input.platform, { webhook_url: input.webhook_url, secret: input.secret });
  const id = newId('chn');
  const item: Item = {
    ...channelKeys.channel(id),
    GSI2PK: channelIndexes.channelsOfProject(projectId),
    GSI2SK: id,
    ...stamp(id, caller, {
      project_id: projectId,
      platform: input.platform,
      ...(input.name ? { name: input.name } : {}),
      ...credentialFields(credentials),
      filters: checkFilters(input.filters),
      credentials_version: 1,
    }),
  };
  const view = present<ChannelView>(item);
  // The secret exists before the channel does: the notifier never finds a channel without one.
  await createChannelCredentials(id, credentials);
  try {
    await commit([
      countChannel(projectId, 1),
      createRecord(item, what),
      recordChange(caller, { type: 'Channel Created', subject: `channel/${id}`, project_id: projectId, data: view }),
      ...alsoCommit(view),
    ]);
  } catch (error) {
    await deleteChannelCredentials(id).catch(() => undefined);
    throw error;
  }
  return view;
}

export async function listChannels(caller: Caller, projectId: string, page: PageRequest): Promise<Page<ChannelView>> {
  await readProject(caller, projectId, 'channel.read');
  const result = await queryPage({ index: 'GSI2', partition: channelIndexes.channelsOfProject(projectId), page });
  return { items: result.items.map((i) => present<ChannelView>(i)), next_cursor: result.next_cursor };
}

export async function getChannel(caller: Caller, projectId: string, channelId: string): Promise<ChannelView> {
  return present<ChannelView>(await readChannel(caller, projectId, channelId, 'channel.read'));
}

/** A new URL or secret is written to Secrets Manager first, under a new credentials_version. */
export async function updateChannel(
  caller: Caller,
  projectId: string,
  channelId: string,
  patch: ChannelPatch,
  expected: number,
): Promise<ChannelView> {
  const channel = await readChannel(caller, projectId, channelId, 'channel.manage');
  // Stale already: refused before the credentials are touched (the write's condition catches a later race).
  if (channel.version !== expected) throw staleVersion();
  const platform = channel.platform as ChannelPlatform;
  const rekeyed = patch.webhook_url !== undefined || patch.secret !== undefined;
  const before = rekeyed ? await readChannelCredentials(channelId, channel.credentials_version as number) : undefined;
  const credentials = before && checkCredentials(platform, nextCredentials(before, patch));
  const { item, write } = replaceRecord(
    channel,
    {
      name: patch.name === undefined ? channel.name : (patch.name ?? undefined),
      filters: patch.filters
        ? checkFilters(mergeFilters(channel.filters as ChannelFilters, patch.filters))
        : channel.filters,
      ...(credentials
        ? { ...credentialFields(credentials), credentials_version: (channel.credentials_version as number) + 1 }
        : {}),
    },
    expected,
    what,
  );
  const view = present<ChannelView>(item);
  const changes = changedFields(channel, item, CHANGEABLE);
  if (patch.webhook_url !== undefined && !changes.includes('host')) changes.push('webhook_url');
  if (credentials) await putChannelCredentials(channelId, credentials);
  try {
    await commit([
      write,
      recordChange(caller, {
        type: 'Channel Updated',
        subject: `channel/${channelId}`,
        project_id: projectId,
        data: { ...view, changes },
      }),
    ]);
  } catch (error) {
    // Not changed after all (a stale ETag, say): the credentials go back to what the record names.
    if (before) await putChannelCredentials(channelId, before).catch(() => undefined);
    throw error;
  }
  return view;
}

export async function deleteChannel(caller: Caller, projectId: string, channelId: string, expected: number) {
  await readChannel(caller, projectId, channelId, 'channel.manage');
  await commit([
    deleteRecord(channelKeys.channel(channelId), expected, what),
    countChannel(projectId, -1),
    recordChange(caller, {
      type: 'Channel Deleted',
      subject: `channel/${channelId}`,
      project_id: projectId,
      data: { id: channelId },
    }),
  ]);
  // The record is gone first: from then on the notifier no longer lists the channel.
  await deleteChannelCredentials(channelId);
}

/**
 * Sends a test message and reports the platform's answer: a refusal is an answer too (200 with
 * `delivered: false`), since the request to Slipway itself succeeded. The reason never holds the
 * URL or the secret.
 */
export async function testChannel(caller: Caller, projectId: string, channelId: string): Promise<ChannelTestResult> {
  const channel = await readChannel(caller, projectId, channelId, 'channel.manage');
  const platform = channel.platform as ChannelPlatform;
  const credentials = await readChannelCredentials(channelId, channel.credentials_version as number);
  const target = { url: credentials.webhook_url, ...(credentials.secret ? { secret: credentials.secret } : {}) };
  try {
    await chatChannel(platform, target, channelPolicy(platform)).send({
      title: 'Slipway test message',
      text: `This ${platform} channel${channel.name ? ` (${channel.name})` : ''} gets the project's change events.`,
      severity: 'info',
      footer: `Test sent by ${caller.sub}`,
    });
    return { delivered: true };
  } catch (error) {
    if (!(error instanceof ChatDeliveryFailed)) throw error;
    return {
      delivered: false,
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.code === undefined ? {} : { code: redact(error.code, credentials) }),
      reason: redact(error.message, credentials),
    };
  }
}

/** The URL is one this platform's channel may use; a signing secret only where the platform signs. */
function checkCredentials(platform: ChannelPlatform, credentials: ChannelCredentials): ChannelCredentials {
  checkWebhookUrl(platform, credentials.webhook_url);
  if (credentials.secret !== undefined && platform !== 'feishu' && platform !== 'dingtalk') {
    throw unprocessable(
      'secret-not-supported',
      `A ${platform} webhook is not signed (its key is in the URL): send no secret.`,
    );
  }
  return credentials.secret === undefined ? { webhook_url: credentials.webhook_url } : credentials;
}

const credentialFields = (credentials: ChannelCredentials) => ({
  host: normalizeHost(new URL(credentials.webhook_url).hostname),
  secret_set: credentials.secret !== undefined,
});

function nextCredentials(current: ChannelCredentials, patch: ChannelPatch): ChannelCredentials {
  const secret = patch.secret === undefined ? current.secret : (patch.secret ?? undefined);
  return { webhook_url: patch.webhook_url ?? current.webhook_url, ...(secret === undefined ? {} : { secret }) };
}

/** Event types must be in the change-event catalog; empty lists mean "every", as absent ones do, so only non-empty ones are kept. */
function checkFilters(filters: ChannelFilters): ChannelFilters {
  const unknown = filters.event_types?.find((type) => !isChangeEventType(type));
  if (unknown !== undefined) {
    throw unprocessable('unknown-event-type', `${unknown} is not a change event type (see the change-event catalog).`);
  }
  return Object.fromEntries(Object.entries(filters).filter(([, list]) => Array.isArray(list) && list.length > 0));
}

function mergeFilters(current: ChannelFilters, patch: NonNullable<ChannelPatch['filters']>): ChannelFilters {
  const next: Record<string, unknown> = { ...current };
  for (const [name, list] of Object.entries(patch)) next[name] = list ?? undefined;
  return next as ChannelFilters;
}

/** Counts a channel on its project; creation stops at the limit (checked in the same transaction). */
function countChannel(projectId: string, delta: 1 | -1): Write {
  return {
    update: keys.project(projectId),
    set: 'ADD #count :delta',
    condition:
      delta > 0 ? 'attribute_exists(PK) AND (attribute_not_exists(#count) OR #count < :max)' : 'attribute_exists(PK)',
    names: { '#count': COUNT },
    values: { ':delta': delta, ...(delta > 0 ? { ':max': MAX_CHANNELS_PER_PROJECT } : {}) },
    onFail: (project) =>
      project
        ? unprocessable('too-many-channels', `A project has at most ${MAX_CHANNELS_PER_PROJECT} chat channels.`)
        : notFound('Project'),
  };
}

/** A provider may echo what it was sent: nothing of the URL or the secret leaves in a reason. */
function redact(text: string, credentials: ChannelCredentials): string {
  const url = new URL(credentials.webhook_url);
  const secrets = [credentials.webhook_url, `${url.pathname}${url.search}`, url.search.slice(1), credentials.secret];
  return secrets
    .filter((value): value is string => value !== undefined && value.length >= 8)
    .reduce((out, value) => out.split(value).join('[redacted]'), text);
}

async function readProject(caller: Caller, projectId: string, permission: Permission) {
  const { access, items } = await signInAndRead(caller, [keys.project(projectId)]);
  if (!items[0]) throw notFound('Project');
  access.require(permission, projectScope(projectId), 'project.read', 'Project');
}

async function readChannel(caller: Caller, projectId: string, channelId: string, permission: Permission) {
  const { access, items } = await signInAndRead(caller, [channelKeys.channel(channelId)]);
  const channel = items[0];
  if (!channel || channel.project_id !== projectId) throw notFound(what);
  access.require(permission, projectScope(projectId), 'channel.read', what);
  return channel;
}
