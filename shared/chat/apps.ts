/**
 * The chat platforms' apps (`slipway/chat/apps`, ADR 30/31): what the bots post and update
 * approval messages with. Only the bot parts are read here; other fields (signing secrets, tokens
 * for callbacks) are allowed and ignored, so the callback side can grow the document freely. Read
 * at most once a minute per container, like the channels; an invalid document names fields only.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { config } from '../config.ts';
import { InvalidChatConfig, secretSource } from '../notify/config.ts';

const credential = z.string().check(z.minLength(1), z.maxLength(512));

const chatApps = z.object({
  slack: z.optional(z.object({ bot_token: z.optional(credential) })),
  feishu: z.optional(z.object({ app_id: credential, app_secret: credential })),
  dingtalk: z.optional(z.object({ app_key: credential, app_secret: credential, robot_code: z.optional(credential) })),
  wecom: z.optional(
    z.object({
      corp_id: credential,
      agent_id: z.optional(z.union([credential, z.number()])),
      secret: z.optional(credential),
    }),
  ),
});

export type ChatApps = z.infer<typeof chatApps>;

export function parseChatApps(text: string): ChatApps {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new InvalidChatConfig('The chat apps secret is not JSON');
  }
  const result = chatApps.safeParse(document);
  if (result.success) return result.data;
  const fields = result.error.issues.slice(0, 10).map((issue) => issue.path.join('.') || '(root)');
  throw new InvalidChatConfig(`The chat apps secret is invalid at: ${fields.join(', ')}`);
}

let source: { secretId: string; load: () => Promise<ChatApps> } | undefined;

/** This container's chat apps; none configured (or unreadable as a document) means no bots. */
export async function loadChatApps(): Promise<ChatApps> {
  const secretId = config.chatAppsSecret;
  if (!secretId) return {};
  if (source?.secretId !== secretId) {
    source = { secretId, load: secretSource({ secretId, client: new SecretsManagerClient({}) }, parseChatApps) };
  }
  return source.load();
}
