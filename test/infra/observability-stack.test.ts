import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALARMED_TIERS, NAMESPACE } from '../../infra/aws/observability-stack.ts';
import { functions, stateMachines } from '../../infra/manifest.ts';
import { WORKFLOW_START_FAILED } from '../../shared/telemetry/log-signals.ts';
import { referenceTo, slipwayApp } from './synth.ts';

// biome-ignore lint/suspicious/noExplicitAny: template resources are untyped JSON
type Resource = { Type: string; Properties: any };

describe('ObservabilityStack', () => {
  let app: ReturnType<typeof slipwayApp>;
  let template: Template;
  let delivery: Template;
  beforeAll(() => {
    app = slipwayApp();
    template = Template.fromStack(app.observability);
    delivery = Template.fromStack(app.delivery);
  });
  afterAll(() => app.cleanup());

  const alarms = () => Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[];
  const alarmNamed = (name: string) => {
    const found = alarms().find((a) => a.Properties.AlarmName === `slipway-dev-${name}`);
    if (!found) throw new Error(`no alarm ${name}; have ${alarms().map((a) => a.Properties.AlarmName)}`);
    return found.Properties;
  };
  const idIn = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const topicRef = () =>
    referenceTo(app.observability, app.delivery, { Ref: idIn(app.delivery, app.delivery.alarmTopic) });

  it('sends every alarm to the alarm topic when it fires and when it recovers, and treats no data as fine', () => {
    expect(alarms().length).toBeGreaterThan(functions.length);
    for (const alarm of alarms()) {
      expect(alarm.Properties.AlarmActions).toEqual([topicRef()]);
      expect(alarm.Properties.OKActions).toEqual([topicRef()]);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
      expect(alarm.Properties.AlarmDescription).toEqual(expect.any(String));
    }
  });

  it.each(ALARMED_TIERS)(
    'alarms on a deploy failure rate over 5 percent in an hour to %s environments, once at least 5 deploys finished',
    (tier) => {
      const alarm = alarmNamed(`deploy-failure-rate-${tier}`);
      expect(alarm).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1 });
      const [expression, ...inputs] = alarm.Metrics;
      expect(expression).toMatchObject({
        ReturnData: true,
        Expression:
          'IF(FILL(s, 0) + FILL(f, 0) + FILL(r, 0) >= 5, 100 * (FILL(f, 0) + FILL(r, 0)) / (FILL(s, 0) + FILL(f, 0) + FILL(r, 0)), 0)',
      });
      const outcomes = Object.fromEntries(
        inputs.map((input: { Id: string; ReturnData: boolean; MetricStat: Record<string, never> }) => {
          expect(input.ReturnData).toBe(false);
          const { Metric, Stat, Period } = input.MetricStat;
          expect({ Stat, Period }).toEqual({ Stat: 'Sum', Period: 3600 });
          expect(Metric).toMatchObject({ Namespace: NAMESPACE, MetricName: 'DeploymentsFinished' });
          const dims = Object.fromEntries(
            (Metric as unknown as { Dimensions: { Name: string; Value: string }[] }).Dimensions.map((d) => [
              d.Name,
              d.Value,
            ]),
          );
          expect(dims.Tier).toBe(tier);
          return [input.Id, dims.Outcome];
        }),
      );
      expect(outcomes).toEqual({ s: 'succeeded', f: 'failed', r: 'rolled_back' });
    },
  );

  it('alarms on any message in any dead-letter queue, the alarm topic’s own included', () => {
    const queues = Object.keys(delivery.findResources('AWS::SQS::Queue'));
    expect(queues.length).toBe(app.delivery.deadLetterQueues.length);
    const watched = alarms()
      .filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible')
      .map((a) => {
        expect(a.Properties).toMatchObject({ Threshold: 1, Statistic: 'Maximum', Period: 60 });
        expect(a.Properties.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
        return a.Properties.Dimensions[0].Value;
      });
    expect(watched).toHaveLength(queues.length);
    const alarmDeadLetters = queues.find((id) => id.startsWith('AlarmDeadLetters'));
    expect(watched).toContainEqual(
      referenceTo(app.observability, app.delivery, { 'Fn::GetAtt': [alarmDeadLetters, 'QueueName'] }),
    );
  });

  it.each(functions)('alarms on $name’s error rate (over 5 percent of at least 5 calls, 2 of 3 periods)', (spec) => {
    const alarm = alarmNamed(`errors-${spec.name}`);
    expect(alarm).toMatchObject({ Threshold: 5, EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    expect(alarm.Metrics[0].Expression).toBe('IF(FILL(calls, 0) >= 5, 100 * FILL(errors, 0) / calls, 0)');
    const names = alarm.Metrics.slice(1).map(
      (m: { MetricStat: { Metric: { MetricName: string } } }) => m.MetricStat.Metric.MetricName,
    );
    expect(names.sort()).toEqual(['Errors', 'Invocations']);
  });

  it.each(stateMachines.map((m) => m.name))(
    'alarms when a %s execution times out (a failed one is a failed deploy, build or run: the dashboard shows those)',
    (name) => {
      const alarm = alarmNamed(`workflow-${name}-timed-out`);
      expect(alarm).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsTimedOut',
        Statistic: 'Sum',
        Period: 300,
      });
      expect(alarms().some((a) => a.Properties.MetricName === 'ExecutionsFailed')).toBe(false);
    },
  );

  it('alarms when workflows cannot start: throttled, or a starter logged the failure (counted by a metric filter)', () => {
    const alarm = alarmNamed('workflow-starts-failing');
    expect(alarm.Threshold).toBe(1);
    const inputs = alarm.Metrics.slice(1).map(
      (m: { MetricStat: { Metric: { MetricName: string } } }) => m.MetricStat.Metric.MetricName,
    );
    expect(inputs.sort()).toEqual([...Array(stateMachines.length).fill('ExecutionThrottled'), 'WorkflowStartsFailed']);
    const filters = Object.values(template.findResources('AWS::Logs::MetricFilter')) as Resource[];
    const starters = functions.filter((f) =>
      f.capabilities?.some((c) => ['start-workflows', 'start-builds', 'run-pipelines'].includes(c)),
    );
    expect(filters).toHaveLength(starters.length);
    for (const filter of filters) {
      expect(filter.Properties).toMatchObject({
        FilterPattern: `{ $.message = "${WORKFLOW_START_FAILED}" }`,
        MetricTransformations: [{ MetricNamespace: NAMESPACE, MetricName: 'WorkflowStartsFailed', MetricValue: '1' }],
      });
    }
  });

  it('draws one dashboard: deploys by outcome, duration percentiles, queue depth, dead letters, errors and p99 per function, alarms', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Resource[];
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]?.Properties.DashboardName).toBe('slipway-dev');
    const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
    for (const title of [
      'Deployments finished per hour, by outcome',
      'Deploy duration p50 and p90',
      'Queue depth',
      'Dead letters waiting',
      'Error rate (%), API functions',
      'p99 duration (ms), API functions',
      'Workflow executions failed',
      'Alarms',
    ]) {
      expect(body).toContain(title);
    }
    for (const outcome of ['succeeded', 'failed', 'rolled_back', 'rejected', 'expired', 'cancelled']) {
      expect(body).toContain(`Outcome=\\\\\\"${outcome}\\\\\\"`);
    }
    expect(body).toContain('MetricName=\\\\\\"DeployDuration\\\\\\"');
    expect(body).toContain('p90');
    expect(body).toContain('MetricName=\\\\\\"DeployQueueDepth\\\\\\"');
  });
});

describe('the alarm topic and its subscriber (DeliveryStack)', () => {
  let app: ReturnType<typeof slipwayApp>;
  let delivery: Template;
  beforeAll(() => {
    app = slipwayApp();
    delivery = Template.fromStack(app.delivery);
  });
  afterAll(() => app.cleanup());

  it('is encrypted with a rotated key CloudWatch may use, and refuses plain HTTP', () => {
    const [topic] = Object.values(delivery.findResources('AWS::SNS::Topic')) as Resource[];
    expect(topic?.Properties.TopicName).toBe('slipway-dev-alarms');
    const keyId = topic?.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const key = delivery.toJSON().Resources[keyId];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
    const [policy] = Object.values(delivery.findResources('AWS::SNS::TopicPolicy')) as Resource[];
    expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('is subscribed by the alarm notifier, with a dead-letter queue for what SNS or the function cannot deliver', () => {
    const fnId = idOf(app.delivery, app.delivery.functions['alarm-notifier']);
    const [subscription] = Object.values(delivery.findResources('AWS::SNS::Subscription')) as Resource[];
    expect(subscription?.Properties).toMatchObject({
      Protocol: 'lambda',
      Endpoint: { 'Fn::GetAtt': [fnId, 'Arn'] },
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^AlarmDeadLetters/), 'Arn'] } },
    });
    const [invokeConfig] = Object.values(
      delivery.findResources('AWS::Lambda::EventInvokeConfig', {
        Properties: { FunctionName: { Ref: fnId } },
      }),
    ) as Resource[];
    expect(invokeConfig?.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/^AlarmDeadLetters/), 'Arn'] } },
      },
    });
  });

  it('gives the alarm notifier the chat secret and the dashboard’s address', () => {
    const fnId = idOf(app.delivery, app.delivery.functions['alarm-notifier']);
    const variables = delivery.toJSON().Resources[fnId].Properties.Environment.Variables;
    expect(variables.SLIPWAY_CHAT_SECRET_ARN).toEqual({ Ref: expect.stringMatching(/^ChatSecret/) });
    expect(JSON.stringify(variables.SLIPWAY_DASHBOARD_URL)).toContain('#dashboards/dashboard/slipway-dev');
  });
});

const idOf = (stack: Stack, construct: { node: { defaultChild?: unknown } } | undefined) => {
  if (!construct) throw new Error('not built');
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
};
