/**
 * Slack's request signing (docs.slack.dev, "Verifying requests from Slack"): `X-Slack-Signature` is
 * `v0=` + hex HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<raw body>` with the app's signing
 * secret; a timestamp more than five minutes from now is refused (replays).
 */
import { createHmac } from 'node:crypto';
import { isFresh, sameText } from './common.ts';

export const SLACK_WINDOW_SECONDS = 5 * 60;

export const slackSignature = (signingSecret: string, timestamp: string, body: string): string =>
  `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;

export function verifySlack(input: {
  signingSecret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: string;
  nowMs: number;
}): boolean {
  const { signingSecret, timestamp, signature, body, nowMs } = input;
  if (!isFresh(timestamp, nowMs, SLACK_WINDOW_SECONDS, 's')) return false;
  return sameText(slackSignature(signingSecret, timestamp as string, body), signature);
}
