import type { ChatKind } from '../notify/channels.ts';
import type { Key } from '../store/table.ts';

/**
 * Where chat records live (issue 13): a link under the chat identity it names (a callback reads it
 * by that identity), listed per Slipway user on GSI2; a link code under the SHA-256 of the code
 * (the code itself is never stored); a processed callback under the platform's id for it, so a
 * retry answers what the first delivery answered.
 */
export const chatKeys = {
  link: (platform: ChatKind, tenant: string, user: string): Key => ({
    PK: `CHATLINK#${platform}#${tenant}#${user}`,
    SK: 'LINK',
  }),
  linkCode: (codeHash: string): Key => ({ PK: `CHATCODE#${codeHash}`, SK: 'CODE' }),
  callback: (platform: ChatKind, callbackId: string): Key => ({
    PK: `CHATCALLBACK#${platform}#${callbackId}`,
    SK: 'SEEN',
  }),
};

export const chatIndexes = {
  linksOfUser: (sub: string) => `USER#${sub}#chat-links`,
};

/** A link code is valid ten minutes; a processed callback is remembered a day (platforms retry for far less). */
export const LINK_CODE_TTL_SECONDS = 10 * 60;
export const CALLBACK_MEMORY_SECONDS = 24 * 60 * 60;

// Where each approval's message sits in each channel, so every later event replaces it.
export const approvalMessageKeys = {
  /** `CHATMSG#<approval id>` / `<channel id>` → `{ platform, ref, version, posted_at, updated_at, expiresAt }` */
  message: (approvalId: string, channelId: string): Key => ({ PK: `CHATMSG#${approvalId}`, SK: channelId }),
};
