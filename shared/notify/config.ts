/**
 * Which chats hear about which changes. The configuration holds webhook URLs and signing secrets,
 * so it lives in Secrets Manager (ARN in SLIPWAY_CHAT_SECRET_ARN) and is read at most once a minute
 * per container. No ARN: no channels. An invalid document sends nothing, and its error names fields,
 * never values (they are secrets).
 */
import { createHash } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { config as platformConfig } from '../config.ts';
import type { ReceivedChangeEvent } from '../events/envelope.ts';
import { type ChatChannel, type ChatKind, createChannel, type DeliveryPolicy } from './channels.ts';
import { DEFAULT_ALLOWED_HOSTS, type Resolver } from './safe-fetch.ts';

export const CHAT_CONFIG_TTL_MS = 60_000;

/** Per message and channel; the function's timeout must leave room for every channel. */
export const DELIVERY_TIMEOUT_MS = 5_000;

/** `hooks.slack.com`, `*.example.com`, `127.0.0.1` or `::1`. */
const hostPattern = z
  .string()
  .check(z.maxLength(253), z.regex(/^(?:(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*|[0-9a-f:]+)$/, 'must be a host name'));

const webhookUrl = z.string().check(
  z.maxLength(2048),
  z.refine((value) => {
    try {
      return ['https:', 'http:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, 'must be an https URL (http only for hosts in allow_private)'),
);

const bounded = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

const channelConfig = z.strictObject({
  kind: z.enum(['slack', 'feishu', 'dingtalk', 'wecom']),
  url: webhookUrl,
  secret: z.optional(bounded(512)),
  /** Detail-types this channel wants; default every event that renders. */
  events: z.optional(z.array(bounded(128)).check(z.maxLength(100))),
  /** Project ids; default every project. Events without a project only reach unscoped channels. */
  projects: z.optional(z.array(bounded(64)).check(z.maxLength(100))),
  /**
   * Where the platform's bot posts interactive approval messages (ADR 31): a Slack channel id, a
   * Feishu chat_id, a DingTalk openConversationId, WeCom user ids (`a|b`, or `@all`). Used only
   * when `slipway/chat/apps` holds the platform's app; otherwise the webhook message stays.
   */
  conversation: z.optional(bounded(256)),
  /** The bot API's base URL when not the platform's default (Lark: https://open.larksuite.com). */
  api_url: z.optional(webhookUrl),
});

export const chatConfig = z.strictObject({
  channels: z.array(channelConfig).check(z.maxLength(50)),
  /** Replaces the default chat hosts (not added to them). */
  allowed_hosts: z.optional(z.array(hostPattern).check(z.maxLength(50))),
  /** Hosts that may resolve to private addresses and use http: local test receivers only. */
  allow_private: z.optional(z.array(hostPattern).check(z.maxLength(20))),
});

export type ChatConfig = z.infer<typeof chatConfig>;

export class InvalidChatConfig extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidChatConfig';
  }
}

export function parseChatConfig(text: string): ChatConfig {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new InvalidChatConfig('The chat configuration is not JSON');
  }
  const result = chatConfig.safeParse(document);
  if (result.success) return result.data;
  const issues = result.error.issues
    .slice(0, 10)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new InvalidChatConfig(`The chat configuration is invalid: ${issues.join('; ')}`);
}

export interface ConfiguredChannel {
  /** Stable across config reloads and safe to log: kind and a hash of the URL, never the URL. */
  id: string;
  channel: ChatChannel;
  /** Where a bot may post this channel's approval messages, if it is configured for that. */
  bot?: BotTarget;
}

/** A conversation the platform's bot posts to, and the network rules its calls follow. */
export interface BotTarget {
  kind: ChatKind;
  conversation: string;
  apiUrl?: string;
  policy: DeliveryPolicy;
}

/** The channels that want this event, ready to send. */
export function channelsFor(
  config: ChatConfig,
  event: Pick<ReceivedChangeEvent, 'type' | 'project_id'>,
  resolve?: Resolver,
): ConfiguredChannel[] {
  const policy = {
    allowedHosts: config.allowed_hosts ?? DEFAULT_ALLOWED_HOSTS,
    allowPrivate: config.allow_private ?? [],
    timeoutMs: DELIVERY_TIMEOUT_MS,
    ...(resolve ? { resolve } : {}),
  };
  return config.channels
    .filter((entry) => !entry.events || entry.events.includes(event.type))
    .filter((entry) => !entry.projects || (event.project_id !== undefined && entry.projects.includes(event.project_id)))
    .map((entry) => ({
      id: `${entry.kind}:${createHash('sha256').update(entry.url).digest('hex').slice(0, 12)}`,
      channel: createChannel(entry.kind, { url: entry.url, ...(entry.secret ? { secret: entry.secret } : {}) }, policy),
      ...(entry.conversation
        ? {
            bot: {
              kind: entry.kind,
              conversation: entry.conversation,
              ...(entry.api_url ? { apiUrl: entry.api_url } : {}),
              policy,
            },
          }
        : {}),
    }));
}

export interface ChatConfigSourceOptions {
  secretId: string;
  client: SecretsManagerClient;
  ttlMs?: number;
  now?: () => number;
}

/**
 * Reads and validates the secret, keeping the answer (or the InvalidChatConfig) for ttlMs. A failed
 * read is not kept: the next event tries again.
 */
export function chatConfigSource(options: ChatConfigSourceOptions): () => Promise<ChatConfig> {
  return secretSource(options, parseChatConfig);
}

/**
 * chatConfigSource's cache for any chat secret and its parser (the apps secret reads through it too).
 * With `missing`, a secret that does not exist reads as that value (kept for the TTL like any other).
 */
export function secretSource<T>(
  options: ChatConfigSourceOptions,
  parse: (text: string) => T,
  missing?: T,
): () => Promise<T> {
  const { ttlMs = CHAT_CONFIG_TTL_MS, now = Date.now } = options;
  const read = () =>
    readSecret(options.client, options.secretId).then(parse, (error: unknown) => {
      if (missing !== undefined && (error as { name?: string }).name === 'ResourceNotFoundException') return missing;
      throw error;
    });
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (cached && now() - cached.at < ttlMs) return cached.value;
    const entry = { at: now(), value: read() };
    cached = entry;
    entry.value.catch((error: unknown) => {
      if (!(error instanceof InvalidChatConfig) && cached === entry) cached = undefined;
    });
    return entry.value;
  };
}

async function readSecret(client: SecretsManagerClient, secretId: string): Promise<string> {
  const secret = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (secret.SecretString === undefined)
    throw new InvalidChatConfig('The chat configuration secret has no string value');
  return secret.SecretString;
}

let source: { secretId: string; load: () => Promise<ChatConfig> } | undefined;

/** This container's configuration; undefined when no secret is configured (the notifier stays quiet). */
export function loadChatConfig(): Promise<ChatConfig> | undefined {
  const secretId = platformConfig.chatSecretArn;
  if (!secretId) return undefined;
  if (source?.secretId !== secretId) {
    source = { secretId, load: chatConfigSource({ secretId, client: new SecretsManagerClient({}) }) };
  }
  return source.load();
}
