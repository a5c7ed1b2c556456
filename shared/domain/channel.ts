import * as z from 'zod/mini';
import { displayName, dnsLabel } from './fields.ts';

/** The chat platforms a project channel may be on (shared/notify/channels.ts has one adapter each). */
export const CHANNEL_PLATFORMS = ['slack', 'feishu', 'dingtalk', 'wecom'] as const;

/** How an event ended, read off its type (`Deployment Succeeded` → succeeded); most events have none. */
export const CHANNEL_OUTCOMES = ['succeeded', 'failed', 'rolled_back', 'rejected', 'expired', 'cancelled'] as const;
export type ChannelOutcome = (typeof CHANNEL_OUTCOMES)[number];

/** A project has at most this many channels: the notifier reads them all for every event of the project. */
export const MAX_CHANNELS_PER_PROJECT = 20;

/** Checked against the change-event catalog by the use case (the domain does not import the events layer). */
const eventType = z
  .string()
  .check(z.regex(/^[A-Z][A-Za-z ]{2,63}$/, 'must be a change event type, e.g. Deployment Failed'));

/** Checked for its host and scheme by shared/chat/channel-hosts.ts: the platform decides which hosts. */
export const webhookUrl = z.string().check(
  z.maxLength(2048),
  z.refine((value) => URL.canParse(value), 'must be an absolute URL'),
);
const signingSecret = z.string().check(z.minLength(1), z.maxLength(512));

const eventTypes = z.array(eventType).check(z.maxLength(100));
const environments = z.array(dnsLabel).check(z.maxLength(50));
const outcomes = z.array(z.enum(CHANNEL_OUTCOMES)).check(z.maxLength(CHANNEL_OUTCOMES.length));

/** Which events a channel gets; an absent or empty list means every one. */
export const channelFilters = z.strictObject({
  event_types: z.optional(eventTypes),
  environments: z.optional(environments),
  outcomes: z.optional(outcomes),
});

/** `POST /projects/{id}/channels`: the webhook URL and signing secret go to Secrets Manager only. */
export const newChannel = z.strictObject({
  platform: z.enum(CHANNEL_PLATFORMS),
  name: z.optional(displayName),
  webhook_url: webhookUrl,
  /** Feishu and DingTalk sign their webhooks; Slack and WeCom carry the key in the URL. */
  secret: z.optional(signingSecret),
  filters: z._default(channelFilters, {}),
});

/** `PATCH .../channels/{id}` (RFC 7396): `null` removes the name or the secret; a filter list given replaces that list. */
export const channelPatch = z.strictObject({
  name: z.optional(z.nullable(displayName)),
  webhook_url: z.optional(webhookUrl),
  secret: z.optional(z.nullable(signingSecret)),
  filters: z.optional(
    z.strictObject({
      event_types: z.optional(z.nullable(eventTypes)),
      environments: z.optional(z.nullable(environments)),
      outcomes: z.optional(z.nullable(outcomes)),
    }),
  ),
});

export type NewChannel = z.infer<typeof newChannel>;
export type ChannelPatch = z.infer<typeof channelPatch>;
export type ChannelFilters = z.infer<typeof channelFilters>;
export type ChannelPlatform = (typeof CHANNEL_PLATFORMS)[number];

/** What the webhook is reached with; stored as one secret per channel. */
export interface ChannelCredentials {
  webhook_url: string;
  secret?: string;
}

/** A channel as the API shows it: never its URL (it holds the key) nor its secret, only where and whether. */
export interface ChannelView {
  id: string;
  project_id: string;
  platform: ChannelPlatform;
  name?: string;
  /** The webhook's host, e.g. hooks.slack.com. */
  host: string;
  secret_set: boolean;
  filters: ChannelFilters;
  /** Goes up whenever the URL or the secret changes (the notifier's cache key). */
  credentials_version: number;
  version: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

/** `POST .../test`: what the platform answered a test message. */
export interface ChannelTestResult {
  delivered: boolean;
  /** The platform's HTTP status, when it answered. */
  status?: number;
  /** The platform's own error code and message (Feishu `code`/`msg`, DingTalk and WeCom `errcode`/`errmsg`, Slack's body). */
  code?: string;
  reason?: string;
}
