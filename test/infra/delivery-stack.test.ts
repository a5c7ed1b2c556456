import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EVENT_BUS_NAME,
  type FunctionName,
  type RuleSpec,
  rules,
  type ScheduleSpec,
  type StateMachineName,
  type StateMachineSpec,
  schedules,
  stateMachines,
  streamConsumer,
} from '../../infra/manifest.ts';
import { referenceTo, slipwayApp, statementsOfRole } from './synth.ts';

const repoFile = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
/** A substituted CloudFormation value, spelled so it can sit inside a JSON string. */
const resolved = (value: unknown) => `resolved:${Buffer.from(JSON.stringify(value)).toString('base64url')}`;

describe('DeliveryStack', () => {
  let app: ReturnType<typeof slipwayApp>;
  let delivery: Template;
  beforeAll(() => {
    app = slipwayApp();
    delivery = Template.fromStack(app.delivery);
  });
  afterAll(() => app.cleanup());

  const resources = () => delivery.toJSON().Resources;
  const ofType = (type: string) => Object.entries(delivery.findResources(type));
  // biome-ignore lint/suspicious/noExplicitAny: template resources are untyped JSON
  const one = (entries: [string, any][]): [string, any] => {
    const [first, ...more] = entries;
    if (!first || more.length > 0) throw new Error(`expected exactly one, got ${entries.length}`);
    return first;
  };
  const idOf = (construct: { node: { defaultChild?: unknown } }) =>
    app.delivery.getLogicalId(construct.node.defaultChild as CfnElement);
  const machineProps = (name: StateMachineName) => resources()[idOf(app.delivery.workflows[name])].Properties;
  const fnArn = (name: FunctionName) => {
    const fn = app.delivery.functions[name];
    if (!fn) throw new Error(`${name} is not in the DeliveryStack`);
    return { 'Fn::GetAtt': [idOf(fn), 'Arn'] };
  };
  const fnRef = (name: FunctionName) => ({ Ref: fnArn(name)['Fn::GetAtt'][0] });
  const machineRef = (name: StateMachineName) => ({ Ref: idOf(app.delivery.workflows[name]) });
  /** An SQS queue resource by a `Fn::GetAtt [id, 'Arn']`. */
  const queueAt = (arn: { 'Fn::GetAtt': [string, string] }) => {
    const [id, attribute] = arn['Fn::GetAtt'];
    expect(attribute).toBe('Arn');
    expect(resources()[id].Type).toBe('AWS::SQS::Queue');
    return id;
  };
  /** Encrypted at rest, and its policy refuses any request not made over TLS. */
  const expectSafeQueue = (queueId: string) => {
    expect(resources()[queueId].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    const policies = ofType('AWS::SQS::QueuePolicy').filter(([, p]) =>
      JSON.stringify(p.Properties.Queues).includes(queueId),
    );
    const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    return statements;
  };

  describe.each(stateMachines)('the $name state machine', (spec: StateMachineSpec) => {
    const machine = () => {
      const id = idOf(app.delivery.workflows[spec.name]);
      return { id, props: resources()[id].Properties };
    };
    /** The definition as CloudFormation will run it: the uploaded file with the substitutions applied. */
    const definition = () => {
      const { props } = machine();
      const text = readFileSync(join(app.outdir, `asset.${props.DefinitionS3Location.Key}`), 'utf8');
      const placeholders = Object.keys(props.DefinitionSubstitutions);
      const substituted = placeholders.reduce(
        (asl, placeholder) =>
          asl.replaceAll(`\${${placeholder}}`, resolved(props.DefinitionSubstitutions[placeholder])),
        text,
      );
      return { text, substituted };
    };

    it('is a Standard workflow named for its stage, logging ALL with execution data, traced', () => {
      const { props } = machine();
      expect(props).toMatchObject({
        StateMachineName: `slipway-dev-${spec.name}`,
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
      });
      const [destination] = props.LoggingConfiguration.Destinations;
      const logGroup = resources()[destination.CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0]];
      expect(logGroup.Properties).toMatchObject({ LogGroupName: `/aws/vendedlogs/states/slipway-dev-${spec.name}` });
      expect(logGroup.Properties.RetentionInDays).toBeGreaterThan(0);
    });

    it('runs the ASL file from statemachines/ unchanged', () => {
      expect(definition().text).toBe(repoFile(spec.file));
    });

    it("substitutes every placeholder with the ARN of the manifest's function or nested machine, leaving none unresolved", () => {
      const { props } = machine();
      const nested = spec.stateMachines ?? {};
      const inFile = [...new Set([...repoFile(spec.file).matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]))].sort();
      expect(inFile).toEqual([...Object.keys(spec.functions), ...Object.keys(nested)].sort());
      expect(props.DefinitionSubstitutions).toEqual({
        ...Object.fromEntries(Object.entries(spec.functions).map(([placeholder, fn]) => [placeholder, fnArn(fn)])),
        ...Object.fromEntries(Object.entries(nested).map(([placeholder, name]) => [placeholder, machineRef(name)])),
      });
      expect(definition().substituted).not.toMatch(/\$\{/);
    });

    it('invokes exactly the step functions: every Lambda task names one, and each one is used', () => {
      const invoked = new Set<string>();
      const visit = (states: Record<string, Record<string, unknown>>) => {
        for (const state of Object.values(states)) {
          // Nested executions are the next test's.
          if (state.Type === 'Task' && !String(state.Resource).startsWith('arn:aws:states:::states:')) {
            const parameters = state.Parameters as { FunctionName?: string } | undefined;
            const target = String(state.Resource).startsWith('arn:aws:states:::lambda:invoke')
              ? parameters?.FunctionName
              : state.Resource;
            invoked.add(String(target));
          }
          for (const branch of (state.Branches as { States: typeof states }[] | undefined) ?? []) visit(branch.States);
          const iterator = (state.ItemProcessor ?? state.Iterator) as { States: typeof states } | undefined;
          if (iterator) visit(iterator.States);
        }
      };
      visit(JSON.parse(definition().substituted).States);
      const expected = Object.values(spec.functions).map((fn) => resolved(fnArn(fn)));
      expect([...invoked].sort()).toEqual([...new Set(expected)].sort());
    });

    it('has a role that may invoke those functions and nothing else (no versions, no other Lambda actions)', () => {
      const roleId = machine().props.RoleArn['Fn::GetAtt'][0];
      const lambda = statementsOfRole(delivery, roleId).filter((s) => s.Action.some((a) => a.startsWith('lambda:')));
      expect(lambda).toHaveLength(1);
      expect(lambda[0]?.Action).toEqual(['lambda:InvokeFunction']);
      const expected = [...new Set(Object.values(spec.functions))].map((fn) => JSON.stringify(fnArn(fn)));
      expect(lambda[0]?.Resource.map((r) => JSON.stringify(r)).sort()).toEqual(expected.sort());
    });

    it('has a role that runs exactly its nested machines, as .sync:2 needs, and no other', () => {
      const roleId = machine().props.RoleArn['Fn::GetAtt'][0];
      const states = statementsOfRole(delivery, roleId).filter((s) => s.Action.some((a) => a.startsWith('states:')));
      const events = statementsOfRole(delivery, roleId).filter((s) => s.Action.some((a) => a.startsWith('events:')));
      const children = Object.values(spec.stateMachines ?? {});
      if (children.length === 0) {
        expect([...states, ...events]).toEqual([]);
        return;
      }
      const starts = states.filter((s) => s.Action.includes('states:StartExecution'));
      const sorted = (values: unknown[]) => values.map((v) => JSON.stringify(v)).sort();
      expect(sorted(starts.flatMap((s) => s.Resource))).toEqual(sorted(children.map(machineRef)));
      for (const s of starts) expect(s.Action).toEqual(['states:StartExecution']);
      const onExecutions = states.filter((s) => !s.Action.includes('states:StartExecution'));
      for (const s of onExecutions)
        expect([...s.Action].sort()).toEqual(['states:DescribeExecution', 'states:StopExecution']);
      const executions = JSON.stringify(onExecutions.flatMap((s) => s.Resource));
      for (const child of children) expect(executions).toContain(`:execution:slipway-dev-${child}:*`);
      expect(onExecutions.flatMap((s) => s.Resource)).toHaveLength(children.length);
      // Step Functions learns that a child ended through this one managed rule.
      for (const s of events) {
        expect([...s.Action].sort()).toEqual(['events:DescribeRule', 'events:PutRule', 'events:PutTargets']);
        expect(JSON.stringify(s.Resource)).toContain(':rule/StepFunctionsGetEventsForStepFunctionsExecutionRule');
      }
      expect(events.length).toBeGreaterThan(0);
    });
  });

  it('lets only the pipeline role start nested executions (no other state machine or function receives their events)', () => {
    const roles = Object.keys(delivery.findResources('AWS::IAM::Role')).filter((roleId) =>
      statementsOfRole(delivery, roleId).some((s) =>
        JSON.stringify(s.Resource).includes('StepFunctionsGetEventsForStepFunctionsExecutionRule'),
      ),
    );
    expect(roles).toEqual([machineProps('pipeline').RoleArn['Fn::GetAtt'][0]]);
  });

  describe('the bus', () => {
    it(`is "${EVENT_BUS_NAME}-<stage>", archived for replay`, () => {
      delivery.resourceCountIs('AWS::Events::EventBus', 1);
      delivery.hasResourceProperties('AWS::Events::EventBus', { Name: `${EVENT_BUS_NAME}-dev` });
      const [[, archive] = []] = ofType('AWS::Events::Archive');
      expect(archive?.Properties.SourceArn).toEqual({ 'Fn::GetAtt': [idOf(app.delivery.bus), 'Arn'] });
      expect(archive?.Properties.RetentionDays).toBeGreaterThan(0);
    });

    /** A rule's one target: the manifest's function with its retry policy (its dead-letter queue: checked by the caller). */
    // biome-ignore lint/suspicious/noExplicitAny: template resources are untyped JSON
    const expectTarget = (targets: any[], spec: RuleSpec | ScheduleSpec) => {
      expect(targets).toHaveLength(1);
      expect(targets[0]).toMatchObject({
        Arn: fnArn(spec.target),
        RetryPolicy: {
          MaximumRetryAttempts: spec.retry.maximumRetryAttempts,
          MaximumEventAgeInSeconds: spec.retry.maximumEventAgeSeconds,
        },
      });
      return targets[0];
    };

    it('has exactly the manifest rules and schedules', () => {
      expect(ofType('AWS::Events::Rule')).toHaveLength(rules.length + schedules.length);
    });

    it.each(schedules)(
      'schedule $name: rate($everyMinutes minutes) to $target, with its retry policy and a dead-letter queue',
      (schedule) => {
        const [ruleId, { Properties: props }] = one(
          ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.Description === schedule.description),
        );
        // EventBridge's own grammar: `rate(1 minute)`, `rate(5 minutes)`.
        const unit = schedule.everyMinutes === 1 ? 'minute' : 'minutes';
        expect(props.ScheduleExpression).toBe(`rate(${schedule.everyMinutes} ${unit})`);
        expect(props.EventBusName).toBeUndefined(); // scheduled rules live on the default bus
        expect(props.EventPattern).toBeUndefined();
        const target = expectTarget(props.Targets, schedule);
        expect(expectSafeQueue(queueAt(target.DeadLetterConfig.Arn))).toContainEqual(
          expect.objectContaining({ Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } } }),
        );
      },
    );

    it.each(rules)(
      'rule $name: the manifest pattern on the bus, to $target, with its retry policy and a dead-letter queue',
      (rule) => {
        const [ruleId, { Properties: props }] = one(
          ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.Description === rule.description),
        );
        if (rule.bus === 'aws') {
          // Step Functions' status changes arrive on the default bus; only this stage's machines count.
          expect(props.EventBusName).toBe('default');
          const machines = Object.values(app.delivery.workflows).map((m) => ({ Ref: idOf(m) }));
          expect(props.EventPattern).toEqual({
            ...rule.pattern,
            detail: { ...(rule.pattern.detail as object), stateMachineArn: machines },
          });
        } else {
          expect(props.EventBusName).toEqual({ Ref: idOf(app.delivery.bus) });
          expect(props.EventPattern).toEqual(rule.pattern);
        }
        const target = expectTarget(props.Targets, rule);
        const queueId = queueAt(target.DeadLetterConfig.Arn);
        // EventBridge may drop into it only on behalf of this rule.
        expect(expectSafeQueue(queueId)).toContainEqual(
          expect.objectContaining({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
          }),
        );
      },
    );

    it.each(rules)(
      'rule $name: a handler failure also lands in its dead-letter queue after Lambda’s retries',
      (rule) => {
        const [, ruleResource] =
          ofType('AWS::Events::Rule').find(([, r]) => r.Properties.Description === rule.description) ?? [];
        const [, config] =
          ofType('AWS::Lambda::EventInvokeConfig').find(
            ([, c]) => JSON.stringify(c.Properties.FunctionName) === JSON.stringify(fnRef(rule.target)),
          ) ?? [];
        expect(config?.Properties).toMatchObject({
          MaximumRetryAttempts: 2,
          MaximumEventAgeInSeconds: Math.min(rule.retry.maximumEventAgeSeconds, 6 * 3600),
          DestinationConfig: { OnFailure: { Destination: ruleResource?.Properties.Targets[0].DeadLetterConfig.Arn } },
        });
      },
    );
  });

  describe('the table stream', () => {
    it('feeds the event publisher new outbox items only, reporting partial batch failures, with a dead-letter queue', () => {
      const [, { Properties: props }] = one(ofType('AWS::Lambda::EventSourceMapping'));
      const tableId = app.data.getLogicalId(app.data.table.node.defaultChild as CfnElement);
      expect(props).toMatchObject({
        FunctionName: fnRef(streamConsumer.function),
        EventSourceArn: referenceTo(app.delivery, app.data, { 'Fn::GetAtt': [tableId, 'StreamArn'] }),
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: streamConsumer.batchSize,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      expect(props.FilterCriteria.Filters.map((f: { Pattern: string }) => JSON.parse(f.Pattern))).toEqual([
        streamConsumer.filter,
      ]);
      expect(props.MaximumRetryAttempts).toBeGreaterThan(0);
      expect(props.MaximumRecordAgeInSeconds).toBeGreaterThan(0);
      expectSafeQueue(queueAt(props.DestinationConfig.OnFailure.Destination));
    });
  });

  describe('the chat configuration secret', () => {
    it('is created empty (no channels) for the stage when none is given, beside the chat apps secret (no apps)', () => {
      const secrets = ofType('AWS::SecretsManager::Secret').map(([, resource]) => resource.Properties);
      expect(secrets.map((p) => p.Name).sort()).toEqual(['slipway/dev/chat', 'slipway/dev/chat/apps']);
      const value = (name: string) => JSON.parse(secrets.find((p) => p.Name === name)?.SecretString);
      expect(value('slipway/dev/chat')).toEqual({ channels: [] });
      // No apps: callbacks are refused 401 and approvals go plain until operators put the credentials.
      expect(value('slipway/dev/chat/apps')).toEqual({});
    });

    it('is the given one when chatSecretArn is set: nothing created, the notifier reads only that one (and its project channels’ secrets)', () => {
      const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ops/slipway-chat-AbC123';
      const other = slipwayApp({ chatSecretArn: arn, chatAppsSecretName: 'ops/chat-apps' });
      try {
        const template = Template.fromStack(other.delivery);
        template.resourceCountIs('AWS::SecretsManager::Secret', 0);
        const notifier = other.delivery.functions.notifier;
        if (!notifier) throw new Error('no notifier');
        const fnProps =
          template.toJSON().Resources[other.delivery.getLogicalId(notifier.node.defaultChild as CfnElement)].Properties;
        expect(fnProps.Environment.Variables.SLIPWAY_CHAT_SECRET_ARN).toBe(arn);
        expect(fnProps.Environment.Variables.SLIPWAY_CHAT_APPS_SECRET).toBe('ops/chat-apps');
        const reads = statementsOfRole(template, fnProps.Role['Fn::GetAtt'][0]).filter((s) =>
          s.Action.some((a) => a.startsWith('secretsmanager:')),
        );
        const [chat, ...others] = reads.flatMap((s) => s.Resource);
        expect(chat).toBe(arn);
        // Besides it: the project channels' secrets and the chat apps (the bots' credentials), by name.
        expect(others).toHaveLength(2);
        expect(JSON.stringify(others)).toContain(':secret:slipway/chat/channels/*');
        // The named apps secret only: its random ARN suffix is six characters, no more.
        expect(JSON.stringify(others)).toContain(':secret:ops/chat-apps-??????');
      } finally {
        other.cleanup();
      }
    });
  });

  it('takes the cluster role pattern and secret prefix from context', () => {
    const other = slipwayApp({
      clusterRolePattern: 'arn:aws:iam::210987654321:role/platform/slipway-*',
      clusterSecretPrefix: 'platform/k8s/',
    });
    try {
      const template = Template.fromStack(other.delivery);
      const deployer = other.delivery.functions.deployer;
      if (!deployer) throw new Error('no deployer');
      const roleId =
        template.toJSON().Resources[other.delivery.getLogicalId(deployer.node.defaultChild as CfnElement)].Properties
          .Role['Fn::GetAtt'][0];
      const statements = statementsOfRole(template, roleId);
      expect(statements.find((s) => s.Action.includes('sts:AssumeRole'))?.Resource).toEqual([
        'arn:aws:iam::210987654321:role/platform/slipway-*',
      ]);
      const secrets = statements.find((s) => s.Action.includes('secretsmanager:GetSecretValue'));
      expect(JSON.stringify(secrets?.Resource)).toContain(':secret:platform/k8s/*');
    } finally {
      other.cleanup();
    }
  });

  it('outputs the bus name, the state machine ARNs, the chat secrets and the schedule group for operators', () => {
    expect(
      Object.keys(delivery.findOutputs('*'))
        .filter((key) => !key.startsWith('Exports'))
        .sort(),
    ).toEqual([
      'AlarmTopicArn',
      'BuildStateMachineArn',
      'ChatAppsSecret',
      'ChatSecretArn',
      'DeployStateMachineArn',
      'EventBusName',
      'PipelineStateMachineArn',
      'RollbackStateMachineArn',
      'ScheduleGroupName',
    ]);
  });
});
