/**
 * The alarm notifier end to end: an SNS event carrying CloudWatch alarm notifications, the chat
 * configuration from Secrets Manager (the real SDK client against the local secrets service), and
 * its messages to local chat receivers: only the platform's channels hear alarms.
 */
import type { Context, SNSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '../../../infra/local/aws-endpoint.ts';
import { createLocalSecrets } from '../../../infra/local/secrets.ts';
import { ChatDeliveryFailed } from '../../../shared/notify/safe-fetch.ts';
import { type Receiver, startReceiver } from '../../unit/notify/receiver.ts';

const DASHBOARD =
  'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/slipway-dev';

let endpoint: AwsEndpoint;
let platform: Receiver;
let wecom: Receiver;
let team: Receiver;
let handler: (event: SNSEvent, context: Context) => Promise<void>;

beforeAll(async () => {
  const secrets = createLocalSecrets({ region: 'eu-west-1', accountId: '123456789012' });
  endpoint = await startAwsEndpoint({ services: { secretsmanager: secrets.service } });
  [platform, wecom, team] = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);
  const config = {
    channels: [
      { kind: 'slack', url: `${platform.url}/services/T0/B0/x` },
      { kind: 'wecom', url: `${wecom.url}/cgi-bin/webhook/send?key=k`, events: ['CloudWatch Alarm'] },
      // A team's channel (scoped to its project) and one that wants only deploy events hear no alarms.
      { kind: 'slack', url: `${team.url}/services/T1/B1/y`, projects: ['prj_01jd0000000000000000000000'] },
      { kind: 'slack', url: `${team.url}/services/T2/B2/z`, events: ['Deployment Failed'] },
    ],
    allowed_hosts: ['127.0.0.1'],
    allow_private: ['127.0.0.1'],
  };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
    SLIPWAY_CHAT_SECRET_ARN: secrets.put('slipway/chat', JSON.stringify(config)),
    SLIPWAY_DASHBOARD_URL: DASHBOARD,
  });
  ({ handler } = (await import('../../../functions/alarm-notifier/handler.ts')) as unknown as {
    handler: typeof handler;
  });
});

afterAll(async () => {
  await Promise.all([endpoint?.close(), platform?.close(), wecom?.close(), team?.close()]);
});

beforeEach(() => {
  for (const receiver of [platform, wecom, team]) {
    receiver.requests.length = 0;
    receiver.answer = () => ({ body: receiver === wecom ? { errcode: 0, errmsg: 'ok' } : 'ok' });
  }
});

/** SNS's event to Lambda, one record per message. */
const snsEvent = (...messages: string[]): SNSEvent => ({
  Records: messages.map((Message, i) => ({
    EventSource: 'aws:sns',
    EventVersion: '1.0',
    EventSubscriptionArn: 'arn:aws:sns:eu-west-1:123456789012:slipway-dev-alarms:0b1c',
    Sns: {
      Type: 'Notification',
      MessageId: `msg-${i}`,
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:slipway-dev-alarms',
      Subject: 'ALARM: "slipway-dev-dead-letters-notify-rule-dead-letters" in EU (Ireland)',
      Message,
      Timestamp: '2026-11-20T14:03:27.114Z',
      SignatureVersion: '1',
      Signature: 'sig',
      SigningCertUrl: 'https://sns.eu-west-1.amazonaws.com/cert.pem',
      UnsubscribeUrl: 'https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe',
      MessageAttributes: {},
    },
  })),
});

const alarm = (state: string) =>
  JSON.stringify({
    AlarmName: 'slipway-dev-dead-letters-notify-rule-dead-letters',
    AlarmDescription: 'A message is waiting in NotifyRuleDeadLetters: redrive it once fixed.',
    AWSAccountId: '123456789012',
    NewStateValue: state,
    OldStateValue: state === 'OK' ? 'ALARM' : 'OK',
    NewStateReason:
      'Threshold Crossed: 1 datapoint [3.0 (20/11/26 14:02:00)] was greater than or equal to the threshold (1.0).',
    StateChangeTime: '2026-11-20T14:03:27.114+0000',
    AlarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:slipway-dev-dead-letters-notify-rule-dead-letters',
  });

const context = { awsRequestId: 'req-1', functionName: 'slipway-alarm-notifier' } as Context;

describe('alarm notifier', () => {
  it("sends an alarm to the platform's channels, WeCom included, with the dashboard link; team channels hear nothing", async () => {
    await handler(snsEvent(alarm('ALARM')), context);
    expect(platform.requests).toHaveLength(1);
    expect(platform.requests[0]?.json).toMatchObject({
      text: expect.stringContaining('Alarm: slipway-dev-dead-letters-notify-rule-dead-letters'),
    });
    expect(JSON.stringify(platform.requests[0]?.json)).toContain(DASHBOARD);
    expect(wecom.requests).toHaveLength(1);
    const content = (wecom.requests[0]?.json as { markdown: { content: string } } | undefined)?.markdown.content;
    expect(content).toContain('NotifyRuleDeadLetters');
    expect(content).toContain('OK → ALARM');
    expect(content).toContain(`[Open the dashboard](${DASHBOARD})`);
    expect(team.requests).toHaveLength(0);
  });

  it('sends each alarm of a batch, a recovery as resolved, and nothing for a message that is no alarm', async () => {
    await handler(snsEvent(alarm('OK'), 'a test publish from the console', alarm('ALARM')), context);
    const titles = platform.requests.map((r) => (r.json as { text: string }).text.split('\n')[0]);
    expect(titles).toEqual([
      '✅ Resolved: slipway-dev-dead-letters-notify-rule-dead-letters',
      '❌ Alarm: slipway-dev-dead-letters-notify-rule-dead-letters',
    ]);
  });

  it('fails the call when a channel refuses, so SNS retries and finally dead-letters it', async () => {
    wecom.answer = () => ({ body: { errcode: 93000, errmsg: 'invalid webhook url' } });
    await expect(handler(snsEvent(alarm('ALARM')), context)).rejects.toThrow(ChatDeliveryFailed);
    expect(platform.requests).toHaveLength(1); // the other channel still got it
  });
});
