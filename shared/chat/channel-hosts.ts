/**
 * Where a project channel may post. Project maintainers type these URLs, so each platform's own
 * webhook hosts are allowed, plus the self-hosted hosts the platform team configured
 * (SLIPWAY_CHAT_HOSTS); a private, loopback or metadata address never is (safePost checks the
 * resolved address again at every send), except the local chat receiver's host locally.
 */
import { isIP } from 'node:net';
import { config } from '../config.ts';
import type { ChannelPlatform } from '../domain/channel.ts';
import { unprocessable } from '../errors.ts';
import { hostMatches, isPublicAddress, normalizeHost } from '../net/addresses.ts';
import type { DeliveryPolicy } from '../notify/channels.ts';
import { DELIVERY_TIMEOUT_MS } from '../notify/config.ts';

/** Each platform's incoming-webhook hosts (Feishu and Lark are one platform on two hosts). */
export const PLATFORM_HOSTS: Readonly<Record<ChannelPlatform, readonly string[]>> = {
  slack: ['hooks.slack.com'],
  feishu: ['open.feishu.cn', 'open.larksuite.com'],
  dingtalk: ['oapi.dingtalk.com'],
  wecom: ['qyapi.weixin.qq.com'],
};

/** How a channel of this platform is sent: passed to the platform's adapter and on to safePost. */
export function channelPolicy(platform: ChannelPlatform): DeliveryPolicy {
  return {
    allowedHosts: [...PLATFORM_HOSTS[platform], ...config.chatHosts, ...config.chatAllowPrivateHosts],
    allowPrivate: config.chatAllowPrivateHosts,
    timeoutMs: DELIVERY_TIMEOUT_MS,
  };
}

/** The webhook URL's host, once the URL is one this platform's channel may post to; a 422 otherwise. */
export function checkWebhookUrl(platform: ChannelPlatform, raw: string): string {
  const url = new URL(raw);
  const host = normalizeHost(url.hostname);
  const policy = channelPolicy(platform);
  const local = (policy.allowPrivate ?? []).some((pattern) => hostMatches(host, pattern));
  if (url.username || url.password) {
    throw unprocessable('invalid-webhook-url', 'The webhook URL must not carry a user name or password.');
  }
  if (isIP(host) !== 0 && !isPublicAddress(host) && !local) {
    throw unprocessable('private-host', `The webhook URL points at the non-public address ${host}.`);
  }
  if (!policy.allowedHosts.some((pattern) => hostMatches(host, pattern))) {
    throw unprocessable(
      'host-not-allowed',
      `A ${platform} webhook must be on ${PLATFORM_HOSTS[platform].join(' or ')}${
        config.chatHosts.length > 0 ? ` or a configured self-hosted host (${config.chatHosts.join(', ')})` : ''
      }, not ${host}.`,
    );
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    throw unprocessable('invalid-webhook-url', 'The webhook URL must be https.');
  }
  return host;
}
