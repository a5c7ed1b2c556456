/**
 * The pure parts of project channels: which events a channel's filters let through, and which
 * webhook URLs a channel of each platform may hold.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkWebhookUrl } from '../../../shared/chat/channel-hosts.ts';
import { channelWants, outcomeOf } from '../../../shared/chat/channel-routing.ts';
import type { ReceivedChangeEvent } from '../../../shared/events/envelope.ts';
import { problemOf } from '../problem-of.ts';

const event = (type: string, data: Record<string, unknown> = { env: 'prod' }): ReceivedChangeEvent => ({
  id: '01JD0000000000000000000000',
  source: 'slipway.deployments',
  type,
  time: '2026-12-04T10:00:00.000Z',
  actor: 'alice',
  subject: 'deployment/dep_01jd0000000000000000000000',
  project_id: 'prj_01jd0000000000000000000000',
  data,
});

describe('outcomeOf', () => {
  it.each([
    ['Deployment Succeeded', 'succeeded'],
    ['Deployment Failed', 'failed'],
    ['Deployment Rolled Back', 'rolled_back'],
    ['Rollback Rejected', 'rejected'],
    ['Deployment Expired', 'expired'],
    ['Pipeline Run Cancelled', 'cancelled'],
    ['Build Succeeded', 'succeeded'],
    ['Deployment Started', undefined],
    ['Deployment Rolling Back', undefined],
    ['Approval Requested', undefined],
  ])('%s → %s', (type, outcome) => {
    expect(outcomeOf(type)).toBe(outcome);
  });
});

describe('channelWants', () => {
  it('takes every event when no filter is set, or only empty ones', () => {
    expect(channelWants({}, event('Deployment Started', {}))).toBe(true);
    expect(channelWants({ event_types: [], environments: [], outcomes: [] }, event('Build Started', {}))).toBe(true);
  });

  it('needs every filter given to match', () => {
    const filters = { event_types: ['Deployment Failed', 'Deployment Succeeded'], environments: ['prod'] };
    expect(channelWants(filters, event('Deployment Failed'))).toBe(true);
    expect(channelWants(filters, event('Deployment Failed', { env: 'dev' }))).toBe(false);
    expect(channelWants(filters, event('Deployment Started'))).toBe(false);
  });

  it('refuses an event without an environment or an outcome to a filter on it', () => {
    expect(channelWants({ environments: ['prod'] }, event('Build Succeeded', {}))).toBe(false);
    expect(channelWants({ outcomes: ['failed'] }, event('Deployment Started'))).toBe(false);
    expect(channelWants({ outcomes: ['failed', 'rolled_back'] }, event('Deployment Rolled Back'))).toBe(true);
  });

  it('reads the environment defensively: a non-string env is no environment', () => {
    expect(channelWants({ environments: ['prod'] }, event('Deployment Failed', { env: ['prod'] }))).toBe(false);
    expect(channelWants({ environments: ['prod'] }, { ...event('Deployment Failed'), data: null })).toBe(false);
  });
});

describe('checkWebhookUrl', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env.SLIPWAY_CHAT_HOSTS = saved.SLIPWAY_CHAT_HOSTS ?? '';
    process.env.SLIPWAY_CHAT_ALLOW_PRIVATE_HOSTS = saved.SLIPWAY_CHAT_ALLOW_PRIVATE_HOSTS ?? '';
  });
  const refusal = (platform: Parameters<typeof checkWebhookUrl>[0], url: string) =>
    problemOf(() => checkWebhookUrl(platform, url))
      ?.type.split('/')
      .at(-1);

  it("accepts each platform's own webhook host, and no other platform's", () => {
    expect(checkWebhookUrl('slack', 'https://hooks.slack.com/services/T0/B0/x')).toBe('hooks.slack.com');
    expect(checkWebhookUrl('feishu', 'https://open.larksuite.com/open-apis/bot/v2/hook/x')).toBe('open.larksuite.com');
    expect(checkWebhookUrl('dingtalk', 'https://oapi.dingtalk.com/robot/send?access_token=x')).toBe(
      'oapi.dingtalk.com',
    );
    expect(checkWebhookUrl('wecom', 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x')).toBe(
      'qyapi.weixin.qq.com',
    );
    expect(refusal('slack', 'https://oapi.dingtalk.com/robot/send')).toBe('host-not-allowed');
    expect(refusal('slack', 'https://hooks.slack.com.evil.example/services/x')).toBe('host-not-allowed');
  });

  it('accepts a self-hosted host only once the platform configured it, and still never a private address', () => {
    expect(refusal('feishu', 'https://feishu.corp.example/hook/x')).toBe('host-not-allowed');
    process.env.SLIPWAY_CHAT_HOSTS = 'feishu.corp.example,10.1.2.3';
    expect(checkWebhookUrl('feishu', 'https://feishu.corp.example/hook/x')).toBe('feishu.corp.example');
    expect(refusal('feishu', 'https://10.1.2.3/hook/x')).toBe('private-host');
  });

  it.each([
    ['https://127.0.0.1/hook', 'private-host'],
    ['https://[::1]/hook', 'private-host'],
    ['https://169.254.169.254/latest/meta-data', 'private-host'],
    ['https://[fd00::1]/hook', 'private-host'],
    ['http://hooks.slack.com/services/x', 'invalid-webhook-url'],
    ['https://user:pass@hooks.slack.com/services/x', 'invalid-webhook-url'],
    ['ftp://hooks.slack.com/services/x', 'invalid-webhook-url'],
  ])('refuses %s (%s)', (url, code) => {
    expect(refusal('slack', url)).toBe(code);
  });

  it('lets the local receiver be reached over http on loopback only where configured', () => {
    expect(refusal('slack', 'http://127.0.0.1:4000/slack')).toBe('private-host');
    process.env.SLIPWAY_CHAT_ALLOW_PRIVATE_HOSTS = '127.0.0.1';
    expect(checkWebhookUrl('slack', 'http://127.0.0.1:4000/slack')).toBe('127.0.0.1');
    expect(refusal('slack', 'http://10.0.0.8/slack')).toBe('private-host');
  });
});
