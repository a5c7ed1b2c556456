/**
 * The chat platforms' app credentials (issue 13): one Secrets Manager secret, `slipway/chat/apps`
 * (name or ARN in SLIPWAY_CHAT_APPS_SECRET), each platform optional. Callbacks verify with it; the
 * bot senders post with it. Read at most once a minute per container; a platform missing from it
 * refuses its callbacks (401), as a bad signature would.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { config } from '../config.ts';

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

const TTL_MS = 60_000;
let client: SecretsManagerClient | undefined;
let cached: { secretId: string; at: number; apps: Promise<ChatApps> } | undefined;

/** This container's chat apps; none configured is `{}` (every callback is refused). */
export function loadChatApps(now = Date.now()): Promise<ChatApps> {
  const secretId = config.chatAppsSecret;
  if (!secretId) return Promise.resolve({});
  if (cached?.secretId === secretId && now - cached.at < TTL_MS) return cached.apps;
  client ??= new SecretsManagerClient({});
  const entry = { secretId, at: now, apps: read(client, secretId) };
  cached = entry;
  // A failed read is not kept: the next callback tries again.
  entry.apps.catch(() => {
    if (cached === entry) cached = undefined;
  });
  return entry.apps;
}

async function read(sm: SecretsManagerClient, secretId: string): Promise<ChatApps> {
  const out = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
  const parsed = chatAppsSchema.safeParse(JSON.parse(out.SecretString ?? '{}'));
  // Names the fields, never their values (they are secrets).
  if (!parsed.success)
    throw new Error(
      `${secretId} is not a valid chat apps secret: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  return parsed.data;
}
