import { describe, expect, it } from 'vitest';
import type { ReceivedChangeEvent } from '../../../shared/events/envelope.ts';
import { channelsFor, InvalidChatConfig, parseChatConfig } from '../../../shared/notify/config.ts';

const slackUrl = 'https://hooks.slack.com/services/T0/B0/very-secret-token';

function event(type: string, project_id?: string): ReceivedChangeEvent {
  return {
    id: '01JD0000000000000000000000',
    source: 'slipway.deployments',
    type,
    time: '2026-11-20T14:03:27.000Z',
    actor: 'usr_bob',
    subject: 'deployment/dep_1',
    ...(project_id ? { project_id } : {}),
    data: {},
  };
}

describe('parseChatConfig', () => {
  it('accepts a document with every option', () => {
    const document = {
      channels: [
        { kind: 'slack', url: slackUrl, events: ['Deployment Failed'], projects: ['prj_a'] },
        { kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=t', secret: 'SECx' },
      ],
      allowed_hosts: ['hooks.slack.com', '*.dingtalk.com'],
      allow_private: ['127.0.0.1'],
    };
    expect(parseChatConfig(JSON.stringify(document))).toEqual(document);
  });

  it('names the broken fields but never echoes their values (they are secrets)', () => {
    const document = {
      channels: [
        { kind: 'teams', url: slackUrl },
        { kind: 'slack', url: 'ftp://x', extra: 1 },
      ],
    };
    let error: unknown;
    try {
      parseChatConfig(JSON.stringify(document));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidChatConfig);
    const { message } = error as Error;
    expect(message).toMatch(/channels\.0\.kind/);
    expect(message).toMatch(/channels\.1\.url: must be an https URL/);
    expect(message).not.toContain('very-secret-token');
  });

  it('refuses text that is not JSON', () => {
    expect(() => parseChatConfig('{channels:')).toThrow(new InvalidChatConfig('The chat configuration is not JSON'));
  });
});

describe('channelsFor', () => {
  const config = parseChatConfig(
    JSON.stringify({
      channels: [
        { kind: 'slack', url: slackUrl },
        { kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k', events: ['Deployment Failed'] },
        { kind: 'feishu', url: 'https://open.feishu.cn/open-apis/bot/v2/hook/h', projects: ['prj_a'] },
      ],
    }),
  );
  const kinds = (e: ReceivedChangeEvent) => channelsFor(config, e).map(({ channel }) => channel.kind);

  it('picks channels by event type and project', () => {
    expect(kinds(event('Deployment Failed', 'prj_a'))).toEqual(['slack', 'wecom', 'feishu']);
    expect(kinds(event('Deployment Succeeded', 'prj_b'))).toEqual(['slack']);
    expect(kinds(event('Deployment Succeeded'))).toEqual(['slack']); // no project: scoped channels stay quiet
  });

  it('names channels by kind and a hash of the URL, never the URL', () => {
    const [slack] = channelsFor(config, event('Deployment Failed'));
    expect(slack?.id).toMatch(/^slack:[0-9a-f]{12}$/);
    expect(channelsFor(config, event('Deployment Succeeded'))[0]?.id).toBe(slack?.id);
  });
});
