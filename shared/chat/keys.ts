import type { Key } from '../store/table.ts';

// G2 (ADR 31): where each approval's message sits in each channel, so every later event replaces it.
export const approvalMessageKeys = {
  /** `CHATMSG#<approval id>` / `<channel id>` → `{ platform, ref, version, posted_at, updated_at, expiresAt }` */
  message: (approvalId: string, channelId: string): Key => ({ PK: `CHATMSG#${approvalId}`, SK: channelId }),
};
