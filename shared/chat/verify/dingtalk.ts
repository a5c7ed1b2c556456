/**
 * DingTalk's HTTP callbacks to an app's robot and interactive cards (open.dingtalk.com, "receive
 * messages" / card callback): headers `timestamp` (ms) and `sign` = base64 HMAC-SHA256 of
 * `<timestamp>\n<AppSecret>` keyed with the AppSecret; a timestamp more than an hour from now is
 * refused, as DingTalk documents. (The encrypted event-subscription envelope, DingCallbackCrypto,
 * is WeCom's algorithm: wecom.ts.)
 */
import { createHmac } from 'node:crypto';
import { isFresh, sameText } from './common.ts';

export const DINGTALK_WINDOW_SECONDS = 60 * 60;

export const dingtalkSign = (appSecret: string, timestamp: string): string =>
  createHmac('sha256', appSecret).update(`${timestamp}\n${appSecret}`).digest('base64');

export function verifyDingTalk(input: {
  appSecret: string;
  timestamp: string | undefined;
  sign: string | undefined;
  nowMs: number;
}): boolean {
  const { appSecret, timestamp, sign, nowMs } = input;
  if (!isFresh(timestamp, nowMs, DINGTALK_WINDOW_SECONDS, 'ms')) return false;
  return sameText(dingtalkSign(appSecret, timestamp as string), sign);
}
