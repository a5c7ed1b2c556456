import type { ChatCallback, ChatReply } from '../../shared/chat/callbacks.ts';
import type { ApiResult } from '../../shared/http/response.ts';

/**
 * A verified request from a chat platform: a callback to handle and how to answer its reply in the
 * platform's format, or an answer of its own (URL verification, an event we do not act on).
 */
export type Opened =
  | { kind: 'callback'; callback: ChatCallback; respond: (reply: ChatReply) => ApiResult | Promise<ApiResult> }
  | { kind: 'answer'; result: ApiResult };

export const answered = (result: ApiResult): Opened => ({ kind: 'answer', result });

/** The platform's JSON, as an object (anything else is not a callback of theirs). */
export function jsonObject(text: string | undefined): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text ?? '');
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= 512 ? value : undefined;
