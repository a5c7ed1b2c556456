/**
 * Feishu/Lark callbacks (open.feishu.cn, event subscription and card callback guides):
 * - with an Encrypt Key the body is `{"encrypt": base64(IV ‖ AES-256-CBC(JSON))}`, key = SHA-256 of
 *   the Encrypt Key, PKCS#7; and `X-Lark-Signature` = hex SHA-256 of timestamp + nonce + Encrypt Key
 *   + raw body, over `X-Lark-Request-Timestamp` and `X-Lark-Request-Nonce`;
 * - the Verification Token is in the (decrypted) JSON: `header.token` (schema 2.0) or `token`;
 * - URL verification is `{"type":"url_verification","challenge":…}`, answered with the challenge.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { isFresh, sameText, strictBase64 } from './common.ts';

/** Feishu publishes no window; five minutes, as Slack, bounds replays (ADR 30). */
export const FEISHU_WINDOW_SECONDS = 5 * 60;

const aesKey = (encryptKey: string) => createHash('sha256').update(encryptKey).digest();

/** The plaintext of an `encrypt` field, or undefined if it does not decrypt under this key. */
export function decryptFeishu(encryptKey: string, encrypt: string): string | undefined {
  const raw = strictBase64(encrypt);
  if (!raw || raw.length < 32 || raw.length % 16 !== 0) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-cbc', aesKey(encryptKey), raw.subarray(0, 16));
    return Buffer.concat([decipher.update(raw.subarray(16)), decipher.final()]).toString('utf8');
  } catch {
    return undefined; // bad padding: a wrong key or a mutated ciphertext
  }
}

/** What Feishu sends for `plaintext` (the local chat tool plays Feishu with it). */
export function encryptFeishu(encryptKey: string, plaintext: string, iv: Buffer = randomBytes(16)): string {
  const cipher = createCipheriv('aes-256-cbc', aesKey(encryptKey), iv);
  return Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

export const feishuSignature = (timestamp: string, nonce: string, encryptKey: string, body: string): string =>
  createHash('sha256')
    .update(timestamp + nonce + encryptKey + body)
    .digest('hex');

export function verifyFeishuSignature(input: {
  encryptKey: string;
  timestamp: string | undefined;
  nonce: string | undefined;
  signature: string | undefined;
  body: string;
  nowMs: number;
}): boolean {
  const { encryptKey, timestamp, nonce, signature, body, nowMs } = input;
  if (nonce === undefined || !isFresh(timestamp, nowMs, FEISHU_WINDOW_SECONDS, 's')) return false;
  return sameText(feishuSignature(timestamp as string, nonce, encryptKey, body), signature);
}

/** The Verification Token a callback carries, wherever its schema puts it. */
export function feishuToken(payload: Record<string, unknown>): string | undefined {
  const header = payload.header as Record<string, unknown> | undefined;
  const token = header?.token ?? payload.token;
  return typeof token === 'string' ? token : undefined;
}

export const verifyFeishuToken = (expected: string, payload: Record<string, unknown>): boolean =>
  sameText(expected, feishuToken(payload));
