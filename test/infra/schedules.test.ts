/**
 * What the schedules users make run on, as synthesized (ADR 24): the stage's Scheduler group, a
 * scheduler role that may invoke schedule-fire and nothing else, an encrypted dead-letter queue
 * for undeliverable fires, and the `manage-schedules` grant (schedules of that group only, the
 * role passed to Scheduler only, the adapter's four settings), clean under cdk-nag.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PlatformFunction } from '../../infra/aws/platform-function.ts';
import { referenceTo, type SlipwayTestApp, slipwayApp, statementsOfRole } from './synth.ts';

const repoFile = (path: string) => new URL(`../../${path}`, import.meta.url).pathname;

/** A function in the ApiStack granted `manage-schedules`, as the schedules API will be. */
function withProbe(app: SlipwayTestApp): PlatformFunction {
  const probe = new PlatformFunction(app.api, 'ScheduleProbe', {
    entry: repoFile('functions/schedule-fire/handler.ts'),
    description: 'probe',
    memoryMb: 128,
    timeoutSeconds: 3,
    logLevel: 'INFO',
  });
  probe.bindSchedules(app.delivery.scheduleTarget);
  return probe;
}

describe('user schedules on EventBridge Scheduler', () => {
  let app: SlipwayTestApp;
  let delivery: Template;
  let api: Template;
  let probe: PlatformFunction;
  beforeAll(() => {
    app = slipwayApp();
    probe = withProbe(app);
    delivery = Template.fromStack(app.delivery);
    api = Template.fromStack(app.api);
  });
  afterAll(() => app.cleanup());

  const idIn = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const resources = () => delivery.toJSON().Resources;
  const fireArn = () => ({ 'Fn::GetAtt': [idIn(app.delivery, app.delivery.scheduleTarget.target), 'Arn'] });
  const queueId = () => idIn(app.delivery, app.delivery.scheduleTarget.deadLetters);
  const roleId = () => idIn(app.delivery, app.delivery.scheduleTarget.role);

  it('puts them in the stage’s schedule group, kept when the stack goes (deleting a group deletes its schedules)', () => {
    const groups = Object.values(delivery.findResources('AWS::Scheduler::ScheduleGroup'));
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ Properties: { Name: 'slipway-dev' }, DeletionPolicy: 'Retain' });
    expect(delivery.findOutputs('ScheduleGroupName').ScheduleGroupName?.Value).toBe('slipway-dev');
  });

  it('has a scheduler role only Scheduler may assume, for this account’s group', () => {
    const role = resources()[roleId()].Properties;
    const groupId = Object.keys(delivery.findResources('AWS::Scheduler::ScheduleGroup'))[0] as string;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [groupId, 'Arn'] } },
        },
      },
    ]);
    expect(role.ManagedPolicyArns).toBeUndefined();
  });

  it('lets the scheduler role invoke schedule-fire and send to the dead-letter queue, and nothing else', () => {
    const statements = statementsOfRole(delivery, roleId());
    const lambda = statements.filter((s) => s.Action.some((a) => a.startsWith('lambda:')));
    expect(lambda).toEqual([expect.objectContaining({ Action: ['lambda:InvokeFunction'], Resource: [fireArn()] })]);
    const rest = statements.filter((s) => !lambda.includes(s));
    expect(rest.flatMap((s) => s.Action).every((a) => a.startsWith('sqs:'))).toBe(true);
    expect(rest.flatMap((s) => s.Action)).toContain('sqs:SendMessage');
    expect(rest.flatMap((s) => s.Resource)).toEqual(rest.map(() => ({ 'Fn::GetAtt': [queueId(), 'Arn'] })));
  });

  it('keeps undeliverable fires in an encrypted queue refusing plain HTTP, where schedule-fire’s own failures land too', () => {
    expect(resources()[queueId()].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    const policies = Object.values(delivery.findResources('AWS::SQS::QueuePolicy')).filter((p) =>
      JSON.stringify(p.Properties.Queues).includes(queueId()),
    );
    expect(policies.flatMap((p) => p.Properties.PolicyDocument.Statement)).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    const [config] = Object.values(delivery.findResources('AWS::Lambda::EventInvokeConfig')).filter(
      (c) => JSON.stringify(c.Properties.FunctionName) === JSON.stringify({ Ref: fireArn()['Fn::GetAtt'][0] }),
    );
    expect(config?.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId(), 'Arn'] } } },
    });
  });

  it('grants manage-schedules on the schedules of that group only, PassRole to Scheduler only, and sets the adapter’s settings', () => {
    const fn = api.toJSON().Resources[idIn(app.api, probe)].Properties;
    const statements = statementsOfRole(api, fn.Role['Fn::GetAtt'][0]).filter(
      (s) => !s.Action.some((a) => a.startsWith('logs:') || a.startsWith('xray:')),
    );
    const fromDelivery = (value: unknown) => referenceTo(app.api, app.delivery, value);
    expect(statements).toEqual([
      expect.objectContaining({
        Action: [
          'scheduler:CreateSchedule',
          'scheduler:DeleteSchedule',
          'scheduler:GetSchedule',
          'scheduler:UpdateSchedule',
        ],
        Resource: [
          {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':scheduler:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':schedule/slipway-dev/*',
              ],
            ],
          },
        ],
      }),
      {
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: [fromDelivery({ 'Fn::GetAtt': [roleId(), 'Arn'] })],
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
    ]);
    expect(fn.Environment.Variables).toMatchObject({
      SLIPWAY_SCHEDULE_GROUP: 'slipway-dev',
      SLIPWAY_SCHEDULE_TARGET_ARN: fromDelivery(fireArn()),
      SLIPWAY_SCHEDULER_ROLE_ARN: fromDelivery({ 'Fn::GetAtt': [roleId(), 'Arn'] }),
      SLIPWAY_SCHEDULE_DLQ_ARN: fromDelivery({ 'Fn::GetAtt': [queueId(), 'Arn'] }),
    });
  });

  it('passes cdk-nag’s AwsSolutions checks, the grant included', () => {
    const nagged = slipwayApp({ nag: 'true' });
    try {
      withProbe(nagged);
      const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
      try {
        expect(() => nagged.app.synth()).not.toThrow();
      } finally {
        quiet.mockRestore();
      }
      const report = JSON.parse(readFileSync(join(nagged.outdir, 'validation-report.json'), 'utf8'));
      expect(report.pluginReports.flatMap((plugin: { violations: unknown[] }) => plugin.violations)).toEqual([]);
    } finally {
      nagged.cleanup();
    }
  });
});
