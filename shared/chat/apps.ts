/**
 * The chat platforms' app credentials (issue 13): one Secrets Manager secret, `slipway/chat/apps`
 * (name or ARN in SLIPWAY_CHAT_APPS_SECRET), each platform optional. Callbacks verify with it
 * (ADR 30); the bots post and update approval messages with it (ADR 31). Read at most once a minute
 * per container, through the same cache as the chat channels; an invalid document names fields only.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { config } from '../config.ts';
import { InvalidChatConfig, secretSource } from '../notify/config.ts';

const text = z.string().check(z.minLength(1), z.maxLength(512));

export const chatAppsSchema = z.object({
  slack: z.optional(z.object({ signing_secret: text, bot_token: z.optional(text) })),
  feishu: z.optional(
    z.object({ app_id: text, app_secret: text, verification_token: text, encrypt_key: z.optional(text) }),
  ),
  dingtalk: z.optional(z.object({ app_key: text, app_secret: text, robot_code: z.optional(text) })),
  wecom: z.optional(
    z.object({
      corp_id: text,
      token: text,
      encoding_aes_key: z.string().check(z.regex(/^[A-Za-z0-9+/]{43}$/)),
      agent_id: z.optional(z.union([text, z.number()])),
      secret: z.optional(text),
    }),
  ),
});

export type ChatApps = z.infer<typeof chatAppsSchema>;

export function parseChatApps(text: string): ChatApps {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new InvalidChatConfig('The chat apps secret is not JSON');
  }
  const result = chatAppsSchema.safeParse(document);
  if (result.success) return result.data;
  // Names the fields, never their values (they are secrets).
  const fields = result.error.issues.slice(0, 10).map((issue) => issue.path.join('.') || '(root)');
  throw new InvalidChatConfig(`The chat apps secret is invalid at: ${fields.join(', ')}`);
}

let source: { secretId: string; load: () => Promise<ChatApps> } | undefined;

/**
 * This container's chat apps; none configured, or no such secret yet (operators fill it in after
 * the deploy), is `{}`: every callback is refused 401, and approvals go as plain messages.
 */
export async function loadChatApps(): Promise<ChatApps> {
  const secretId = config.chatAppsSecret;
  if (!secretId) return {};
  if (source?.secretId !== secretId) {
    source = { secretId, load: secretSource({ secretId, client: new SecretsManagerClient({}) }, parseChatApps, {}) };
  }
  return source.load();
}
