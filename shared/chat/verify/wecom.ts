/**
 * WeCom's callback crypto (developer.work.weixin.qq.com "加解密方案说明", the WXBizMsgCrypt samples):
 * - `msg_signature` = hex SHA-1 of the sorted, concatenated token, timestamp, nonce and encrypted text;
 * - the EncodingAESKey is 43 base64 characters: with `=` appended, a 32-byte AES-256-CBC key whose
 *   first 16 bytes are the IV; PKCS#7 padding to a multiple of 32 bytes;
 * - the plaintext is 16 random bytes ‖ 4-byte big-endian length ‖ message ‖ receive id (the CorpID);
 * - URL verification (GET) decrypts `echostr` and answers its message.
 * DingTalk's encrypted callbacks (DingCallbackCrypto) use the same algorithm with its own receive id.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { isFresh, sameText, strictBase64 } from './common.ts';

/** WeCom publishes no window; five minutes bounds replays (ADR 30). */
export const WECOM_WINDOW_SECONDS = 5 * 60;
const BLOCK = 32;

export const wecomSignature = (token: string, timestamp: string, nonce: string, encrypt: string): string =>
  createHash('sha1').update([token, timestamp, nonce, encrypt].sort().join('')).digest('hex');

function keyOf(encodingAesKey: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]{43}$/.test(encodingAesKey)) return undefined;
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  return key.length === 32 ? key : undefined;
}

/** The message and receive id inside `encrypt`, or undefined if it does not decrypt to a well-formed one. */
export function decryptWeCom(
  encodingAesKey: string,
  encrypt: string,
): { message: string; receiveId: string } | undefined {
  const key = keyOf(encodingAesKey);
  const raw = strictBase64(encrypt);
  if (!key || !raw || raw.length === 0 || raw.length % BLOCK !== 0) return undefined;
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(raw), decipher.final()]);
  const pad = padded[padded.length - 1] ?? 0;
  if (pad < 1 || pad > BLOCK || padded.subarray(padded.length - pad).some((b) => b !== pad)) return undefined;
  const plain = padded.subarray(0, padded.length - pad);
  if (plain.length < 20) return undefined;
  const length = plain.readUInt32BE(16);
  if (20 + length > plain.length) return undefined;
  return {
    message: plain.subarray(20, 20 + length).toString('utf8'),
    receiveId: plain.subarray(20 + length).toString('utf8'),
  };
}

/** What WeCom sends for `message` (replies, and the local chat tool playing WeCom). */
export function encryptWeCom(
  encodingAesKey: string,
  message: string,
  receiveId: string,
  random: Buffer = randomBytes(16),
): string {
  const key = keyOf(encodingAesKey);
  if (!key) throw new Error('The EncodingAESKey must be 43 base64 characters');
  const body = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const plain = Buffer.concat([random, length, body, Buffer.from(receiveId, 'utf8')]);
  const pad = BLOCK - (plain.length % BLOCK);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString(
    'base64',
  );
}

/**
 * A signed, fresh callback for this corp: its message, or undefined. The signature is checked before
 * anything is decrypted, and the receive id must be the configured CorpID.
 */
export function openWeCom(input: {
  token: string;
  encodingAesKey: string;
  corpId: string;
  timestamp: string | undefined;
  nonce: string | undefined;
  signature: string | undefined;
  encrypt: string | undefined;
  nowMs: number;
}): string | undefined {
  const { token, encodingAesKey, corpId, timestamp, nonce, signature, encrypt, nowMs } = input;
  if (nonce === undefined || encrypt === undefined) return undefined;
  if (!isFresh(timestamp, nowMs, WECOM_WINDOW_SECONDS, 's')) return undefined;
  if (!sameText(wecomSignature(token, timestamp as string, nonce, encrypt), signature)) return undefined;
  const opened = decryptWeCom(encodingAesKey, encrypt);
  return opened && sameText(corpId, opened.receiveId) ? opened.message : undefined;
}
