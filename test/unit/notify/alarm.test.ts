import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { alarmMessage, parseAlarmNotification } from '../../../shared/notify/alarm.ts';
import { type ChatKind, createChannel, type DeliveryPolicy } from '../../../shared/notify/channels.ts';
import { type Receiver, startReceiver } from './receiver.ts';

const DASHBOARD =
  'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/slipway-prod';

/** What CloudWatch publishes to SNS for a metric math alarm (fields as AWS sends them). */
const notification = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    AlarmName: 'slipway-prod-deploy-failure-rate-production',
    AlarmDescription:
      'Over 5% of the deploys to production environments that finished in the last hour failed or were rolled back (at least 5 finished).',
    AWSAccountId: '123456789012',
    AlarmConfigurationUpdatedTimestamp: '2026-11-20T09:00:00.000+0000',
    NewStateValue: 'ALARM',
    NewStateReason: 'Threshold Crossed: 1 datapoint [33.33 (20/11/26 13:03:00)] was greater than the threshold (5.0).',
    StateChangeTime: '2026-11-20T14:03:27.114+0000',
    Region: 'EU (Ireland)',
    AlarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:slipway-prod-deploy-failure-rate-production',
    OldStateValue: 'OK',
    OKActions: [],
    AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:slipway-prod-alarms'],
    InsufficientDataActions: [],
    Trigger: { Period: 3600, EvaluationPeriods: 1, ComparisonOperator: 'GreaterThanThreshold', Threshold: 5 },
    ...overrides,
  });

const parsed = (overrides: Record<string, unknown> = {}) => {
  const alarm = parseAlarmNotification(notification(overrides));
  if (!alarm) throw new Error('not parsed');
  return alarm;
};

describe('an alarm notification as a chat message', () => {
  it('says which alarm fired, why, where and since when, with the dashboard as its one link', () => {
    expect(alarmMessage(parsed(), DASHBOARD)).toEqual({
      title: 'Alarm: slipway-prod-deploy-failure-rate-production',
      text:
        'Over 5% of the deploys to production environments that finished in the last hour failed or were rolled back (at least 5 finished).\n' +
        'Threshold Crossed: 1 datapoint [33.33 (20/11/26 13:03:00)] was greater than the threshold (5.0).',
      fields: [
        ['State', 'OK → ALARM'],
        ['Region', 'eu-west-1'],
        ['Account', '123456789012'],
      ],
      link: { label: 'Open the dashboard', url: DASHBOARD },
      severity: 'failure',
      footer: 'Slipway · CloudWatch alarm · 2026-11-20 14:03 UTC',
    });
  });

  it('says a recovery is resolved, and missing data a warning', () => {
    expect(alarmMessage(parsed({ NewStateValue: 'OK', OldStateValue: 'ALARM' }), DASHBOARD)).toMatchObject({
      title: 'Resolved: slipway-prod-deploy-failure-rate-production',
      severity: 'success',
      fields: expect.arrayContaining([['State', 'ALARM → OK']]),
    });
    expect(alarmMessage(parsed({ NewStateValue: 'INSUFFICIENT_DATA' }), DASHBOARD)).toMatchObject({
      title: 'No data: slipway-prod-deploy-failure-rate-production',
      severity: 'warning',
    });
  });

  it('has no link without a dashboard, and keeps a long reason to one short line', () => {
    const message = alarmMessage(
      parsed({ AlarmDescription: null, NewStateReason: `x\n${'y'.repeat(1000)}` }),
      undefined,
    );
    expect(message.link).toBeUndefined();
    expect(message.text).not.toContain('\n');
    expect(Array.from(message.text).length).toBeLessThanOrEqual(300);
  });

  it('is nothing for an SNS message that is not an alarm (a test publish, a subscription note)', () => {
    for (const text of ['hello', '{}', '[]', 'null', JSON.stringify({ AlarmName: 'x' }), '{"Type":"Notification"}']) {
      expect(parseAlarmNotification(text)).toBeUndefined();
    }
  });
});

// biome-ignore lint/suspicious/noExplicitAny: provider payloads are untyped JSON
type Payload = Record<string, any>;

describe('on each chat platform', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.requests.length = 0;
  });
  const policy: DeliveryPolicy = { allowedHosts: ['127.0.0.1'], allowPrivate: ['127.0.0.1'], timeoutMs: 2_000 };
  // A description someone wrote with mentions and markup in it stays text on every platform.
  const hostile = alarmMessage(
    parsed({ AlarmDescription: 'Ping <!channel> @all [here](https://evil.example)' }),
    DASHBOARD,
  );

  const payloads: Record<ChatKind, (json: Payload) => { text: string; link: string }> = {
    slack: (json) => ({
      text: JSON.stringify(json.blocks),
      link: json.blocks.find((b: { type: string }) => b.type === 'actions').elements[0].url,
    }),
    feishu: (json) => ({
      text: JSON.stringify(json.card),
      link: json.card.elements.find((e: { tag: string }) => e.tag === 'action').actions[0].url,
    }),
    dingtalk: (json) => ({ text: json.actionCard.text, link: json.actionCard.singleURL }),
    wecom: (json) => ({
      text: json.markdown.content,
      link: /\[Open the dashboard\]\(([^)]+)\)$/.exec(json.markdown.content)?.[1] ?? '',
    }),
  };

  it.each(Object.keys(payloads) as ChatKind[])(
    '%s: the alarm, its reason and a dashboard button, markup defused',
    async (kind) => {
      receiver.answer = () => ({ body: kind === 'slack' ? 'ok' : kind === 'feishu' ? { code: 0 } : { errcode: 0 } });
      await createChannel(kind, { url: `${receiver.url}/hook` }, policy).send(hostile);
      expect(receiver.requests).toHaveLength(1);
      const { text, link } = payloads[kind](receiver.requests[0]?.json as Payload);
      expect(text).toContain('slipway-prod-deploy-failure-rate-production');
      expect(text).toContain('Threshold Crossed');
      expect(text).toContain('OK → ALARM');
      expect(link).toBe(DASHBOARD);
      expect(text).not.toContain('<!channel>');
      expect(text).not.toContain('https://evil');
      expect(text).not.toMatch(/(?<!\w)@all/);
    },
  );
});
