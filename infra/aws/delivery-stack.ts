import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ArnFormat,
  Aws,
  CfnOutput,
  CrossStackReferences,
  Duration,
  ReferenceStrength,
  RemovalPolicy,
  SecretValue,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type EventPattern, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  EVENT_BUS_NAME,
  functions,
  type RuleSpec,
  rules,
  type ScheduleSpec,
  type StateMachineName,
  type StateMachineSpec,
  scheduleGroupName,
  schedules,
  stateMachines,
  streamConsumer,
  workflowName,
} from '../manifest.ts';
import type { SlipwayConfig } from './config.ts';
import {
  createFunctions,
  type Functions,
  functionNamed,
  isApiFunction,
  pascal,
  type Reach,
} from './manifest-functions.ts';
import type { AuditCheckpoints, ScheduleTarget } from './platform-function.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface DeliveryStackProps extends StackProps {
  table: ITableV2;
  /** The checkpointer's key and bucket (DataStack). */
  auditCheckpoints: AuditCheckpoints;
  config: SlipwayConfig;
}

/**
 * Where deploys and builds are orchestrated: the deploy, rollback and build state machines and their
 * step functions, the platform bus with its rules and the schedules (each with a dead-letter queue),
 * the table stream that feeds the one event publisher, and the bus consumers (notifier, auditor,
 * audit checkpointer, build watch). The ApiStack
 * starts and answers the workflows through `reach`.
 */
export class DeliveryStack extends Stack {
  readonly bus: EventBus;
  readonly workflows: Readonly<Record<StateMachineName, StateMachine>>;
  readonly chatSecret: ISecret;
  /** The chat apps' credentials (callback verification, bot APIs; issue 13). */
  readonly chatApps: ISecret;
  /** Where every alarm goes (ObservabilityStack); the alarm notifier turns each into a chat message. */
  readonly alarmTopic: Topic;
  /** Every dead-letter queue (rules, schedules, the stream, the alarm topic): any message in one is an alarm. */
  readonly deadLetterQueues: Queue[] = [];
  readonly functions: Functions;
  /** The Scheduler group, role, fire function and dead-letter queue of the schedules users make. */
  readonly scheduleTarget: ScheduleTarget;
  /** What API functions may be granted (start-workflows, answer-approvals, ...). */
  readonly reach: Reach;
  /** Functions whose asynchronous invoke configuration a rule has set (there is one per function). */
  private readonly asyncConfigured = new Set<string>();

  constructor(scope: Construct, id: string, props: DeliveryStackProps) {
    super(scope, id, props);
    CrossStackReferences.of(this).consume(ReferenceStrength.STRONG); // as the ApiStack: see there
    const { config, table } = props;

    // Stages may share an account: the stage is part of every explicit name.
    this.bus = new EventBus(this, 'Bus', { eventBusName: `${EVENT_BUS_NAME}-${config.stage}` });
    // Replaying the archive re-feeds the audit log and chats after an outage of theirs.
    this.bus.archive('Archive', {
      description: 'Every Slipway change event, for replay',
      eventPattern: { account: [Aws.ACCOUNT_ID] },
      retention: Duration.days(90),
    });
    this.chatSecret = this.chatConfiguration(config);
    this.chatApps = this.chatAppsSecret(config);

    const clusterAccess = { secretPrefix: config.clusterSecretPrefix, rolePattern: config.clusterRolePattern };
    const specs = functions.filter((spec) => !isApiFunction(spec));
    const runWorkflows = {
      pipeline: workflowName(config.stage, 'pipeline'),
      deploy: workflowName(config.stage, 'deploy'),
    };
    // Step functions first: the state machines need their ARNs.
    this.functions = createFunctions(this, specs, {
      config,
      table,
      reach: {
        bus: this.bus,
        clusterAccess,
        chatSecret: this.chatSecret,
        chatApps: this.chatApps,
        auditCheckpoints: props.auditCheckpoints,
        buildSecretPrefix: config.buildSecretPrefix,
        gitTokenSecretPrefix: config.gitTokenSecretPrefix,
        runs: runWorkflows,
        launches: { deploy: runWorkflows.deploy, rollback: workflowName(config.stage, 'rollback') },
      },
    });
    // In manifest order: a machine that runs others nested comes after them.
    const machines: Partial<Record<StateMachineName, StateMachine>> = {};
    for (const spec of stateMachines) machines[spec.name] = this.stateMachine(spec, config, machines);
    this.workflows = machines as Record<StateMachineName, StateMachine>;
    this.scheduleTarget = this.userSchedules(config);
    // No clusterAccess or build secrets: no API function may reach cluster or registry credentials.
    this.reach = {
      workflows: this.workflows,
      workflowNames: Object.fromEntries(
        stateMachines.map((m) => [m.name, workflowName(config.stage, m.name)]),
      ) as Record<StateMachineName, string>,
      bus: this.bus,
      chatSecret: this.chatSecret,
      chatApps: this.chatApps,
      runs: runWorkflows,
      schedules: this.scheduleTarget,
    };

    for (const rule of rules) this.rule(rule);
    for (const schedule of schedules) this.schedule(schedule);
    this.outboxStream(table);
    this.alarmTopic = this.alarmsToChat(config);

    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    new CfnOutput(this, 'DeployStateMachineArn', { value: this.workflows.deploy.stateMachineArn });
    new CfnOutput(this, 'RollbackStateMachineArn', { value: this.workflows.rollback.stateMachineArn });
    new CfnOutput(this, 'BuildStateMachineArn', { value: this.workflows.build.stateMachineArn });
    new CfnOutput(this, 'PipelineStateMachineArn', { value: this.workflows.pipeline.stateMachineArn });
    new CfnOutput(this, 'ChatSecretArn', { value: this.chatSecret.secretArn });
    new CfnOutput(this, 'ChatAppsSecret', { value: this.chatApps.secretFullArn ?? this.chatApps.secretName });
    new CfnOutput(this, 'ScheduleGroupName', { value: this.scheduleTarget.groupName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
  }

  /**
   * The alarm topic and its one subscriber, the alarm notifier (ADR 28). Encrypted with a key of its
   * own: CloudWatch may only publish to an encrypted topic whose key lets it, which the AWS managed
   * key for SNS cannot. A notification the function keeps failing on, or that SNS cannot hand it,
   * lands in a dead-letter queue (itself alarmed, like every other).
   */
  private alarmsToChat(config: SlipwayConfig): Topic {
    const key = new Key(this, 'AlarmTopicKey', {
      description: `Slipway ${config.stage}: encrypts the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY, // the topic holds notifications in flight, nothing to keep
    });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    const topic = new Topic(this, 'AlarmTopic', {
      topicName: `slipway-${config.stage}-alarms`,
      displayName: `Slipway ${config.stage} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    const notifier = functionNamed(this.functions, 'alarm-notifier');
    const deadLetters = this.deadLetterQueue('AlarmDeadLetters', 'alarm notifications that did not reach chat');
    topic.addSubscription(new LambdaSubscription(notifier, { deadLetterQueue: deadLetters }));
    notifier.configureAsyncInvoke({ retryAttempts: 2, onFailure: new SqsDestination(deadLetters) });
    return topic;
  }

  /**
   * The ASL file as written (the local cloud runs the same file), its `${...}` placeholders
   * replaced by the step functions' ARNs and the ARNs of the machines it runs nested, and a role
   * that may invoke exactly those functions and run exactly those machines.
   */
  private stateMachine(
    spec: StateMachineSpec,
    config: SlipwayConfig,
    built: Partial<Record<StateMachineName, StateMachine>>,
  ): StateMachine {
    const name = workflowName(config.stage, spec.name);
    const steps = Object.entries(spec.functions).map(
      ([placeholder, fn]) => [placeholder, functionNamed(this.functions, fn)] as const,
    );
    const children = Object.entries(spec.stateMachines ?? {}).map(([placeholder, child]) => {
      const machine = built[child];
      if (!machine) throw new Error(`manifest.ts must declare the ${child} state machine before ${spec.name}`);
      return [placeholder, child, machine] as const;
    });
    const logs = new LogGroup(this, `${pascal(spec.name)}ExecutionLogs`, {
      // The vendedlogs prefix keeps Step Functions' log resource policy from outgrowing its size limit.
      logGroupName: `/aws/vendedlogs/states/${name}`,
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY, // the audit log, not these, is the durable record of a deploy
    });
    const machine = new StateMachine(this, `${pascal(spec.name)}StateMachine`, {
      stateMachineName: name,
      stateMachineType: StateMachineType.STANDARD, // approval waits last days; Express stops at 5 minutes
      definitionBody: DefinitionBody.fromFile(join(repoRoot, spec.file)),
      definitionSubstitutions: Object.fromEntries([
        ...steps.map(([placeholder, fn]) => [placeholder, fn.functionArn]),
        ...children.map(([placeholder, , machine]) => [placeholder, machine.stateMachineArn]),
      ]),
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    // The ASL names unqualified function ARNs, so no `:*` (versions and aliases) grant is needed.
    machine.addToRolePolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [...new Set(steps.map(([, fn]) => fn.functionArn))],
      }),
    );
    Validations.of(machine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions logging (logs:*LogDelivery, DescribeLogGroups, resource policies) and X-Ray tracing actions have no resource-level permissions.',
    });
    for (const [, child, childMachine] of children)
      this.allowNestedRuns(machine, childMachine, workflowName(config.stage, child));
    return machine;
  }

  /**
   * What `states:startExecution.sync:2` needs of the parent's role, as AWS documents it: start the
   * child, describe and stop its executions (the parent stops its child when it is stopped), and
   * the managed rule through which Step Functions learns that the child ended.
   */
  private allowNestedRuns(parent: StateMachine, child: StateMachine, childName: string): void {
    const executions = this.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${childName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    parent.addToRolePolicy(
      new PolicyStatement({ actions: ['states:StartExecution'], resources: [child.stateMachineArn] }),
    );
    parent.addToRolePolicy(
      new PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [executions] }),
    );
    parent.addToRolePolicy(
      new PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          this.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule',
          }),
        ],
      }),
    );
    Validations.of(parent.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${childName}:*]`,
      reason:
        'Nested executions are named after builds and deployments at run time; the grant is limited to that state machine.',
    });
  }

  /**
   * A bus rule and its target. EventBridge retries delivery per the manifest's policy; a handler
   * error is retried by Lambda's asynchronous invoke (at most twice). Either way, an event that
   * keeps failing lands in the rule's dead-letter queue, never silently dropped.
   */
  private rule(spec: RuleSpec): void {
    new Rule(this, `${pascal(spec.name)}Rule`, {
      // AWS services (Step Functions' status changes) publish to the account's default bus.
      eventBus: spec.bus === 'aws' ? EventBus.fromEventBusName(this, `${pascal(spec.name)}Bus`, 'default') : this.bus,
      description: spec.description,
      eventPattern: eventPatternOf(spec.bus === 'aws' ? this.ownWorkflowsOnly(spec.pattern) : spec.pattern),
      targets: [this.target(spec)],
    });
  }

  /** A schedule of the manifest: a scheduled rule (default bus) that invokes its target with a "Scheduled Event". */
  private schedule(spec: ScheduleSpec): void {
    new Rule(this, `${pascal(spec.name)}Schedule`, {
      description: spec.description,
      schedule: Schedule.rate(Duration.minutes(spec.everyMinutes)),
      targets: [this.target(spec)],
    });
  }

  /**
   * What the schedules users make run on (ADR 24): the stage's Scheduler group (L2; the API puts one
   * schedule per Slipway schedule in it), the role Scheduler assumes for them, which may invoke the
   * schedule-fire function and nothing else (and send to the dead-letter queue), and that queue,
   * where fires go that Scheduler could not deliver or the function kept failing on.
   */
  private userSchedules(config: SlipwayConfig): ScheduleTarget {
    const groupName = scheduleGroupName(config.stage);
    // Retained by default: deleting a group deletes every schedule in it.
    const group = new ScheduleGroup(this, 'ScheduleGroup', { scheduleGroupName: groupName });
    const target = functionNamed(this.functions, 'schedule-fire');
    const deadLetters = this.deadLetterQueue('ScheduleFireDeadLetters', 'schedule fires that could not be delivered');
    const role = new Role(this, 'SchedulerRole', {
      description: `EventBridge Scheduler invokes schedule-fire for the schedules of Slipway ${config.stage}`,
      // Only Scheduler, for schedules of this account's group (the confused-deputy guard AWS documents).
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnEquals: { 'aws:SourceArn': group.scheduleGroupArn },
      }),
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [target.functionArn] }),
    );
    deadLetters.grantSendMessages(role);
    // Scheduler invokes asynchronously: a fire the function fails on is retried by Lambda, then queued.
    target.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      onFailure: new SqsDestination(deadLetters),
    });
    return { groupName, role, target, deadLetters };
  }

  /** The Lambda target of a rule or schedule, with its retry policy and dead-letter queue. */
  private target(spec: RuleSpec | ScheduleSpec): LambdaFunction {
    const target = functionNamed(this.functions, spec.target);
    const deadLetters = this.deadLetterQueue(
      `${pascal(spec.name)}RuleDeadLetters`,
      `events the ${spec.name} ${'pattern' in spec ? 'rule' : 'schedule'} could not deliver`,
    );
    // A function has one asynchronous invoke configuration: the first rule that targets it sets it.
    if (!this.asyncConfigured.has(spec.target)) {
      this.asyncConfigured.add(spec.target);
      target.configureAsyncInvoke({
        retryAttempts: 2,
        maxEventAge: Duration.seconds(Math.min(spec.retry.maximumEventAgeSeconds, LAMBDA_MAX_EVENT_AGE_SECONDS)),
        onFailure: new SqsDestination(deadLetters),
      });
    }
    return new LambdaFunction(target, {
      deadLetterQueue: deadLetters,
      retryAttempts: spec.retry.maximumRetryAttempts,
      maxEventAge: Duration.seconds(spec.retry.maximumEventAgeSeconds),
    });
  }

  /** On the shared default bus, a Step Functions pattern must only match this stage's state machines. */
  private ownWorkflowsOnly(pattern: Record<string, unknown>): Record<string, unknown> {
    const detail = (pattern.detail ?? {}) as Record<string, unknown>;
    const stateMachineArn = Object.values(this.workflows).map((machine) => machine.stateMachineArn);
    return { ...pattern, detail: { ...detail, stateMachineArn } };
  }

  /** Table stream → the event publisher: new outbox items only, partial batch failures retried. */
  private outboxStream(table: ITableV2): void {
    const publisher = functionNamed(this.functions, streamConsumer.function);
    const deadLetters = this.deadLetterQueue(
      'OutboxStreamDeadLetters',
      'stream batches the event publisher gave up on',
    );
    publisher.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: streamConsumer.batchSize,
        filters: [FilterCriteria.filter(streamConsumer.filter)],
        reportBatchItemFailures: true,
        // Age, not count, bounds the retries: a bus outage stalls the shard (keeping order) for up
        // to 6 h; then the batch's position goes to the queue while its outbox items (kept 24 h)
        // can still be republished.
        retryAttempts: 10_000,
        maxRecordAge: Duration.hours(6),
        onFailure: new SqsDlq(deadLetters),
      }),
    );
  }

  private deadLetterQueue(id: string, holds: string): Queue {
    const queue = new Queue(this, id, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14), // the maximum: time to notice, fix and redrive
    });
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `This queue is itself a dead-letter queue (${holds}).`,
    });
    this.deadLetterQueues.push(queue);
    return queue;
  }

  /** The notifier's channels (webhook URLs, signing secrets): an existing secret, or an empty one to fill in. */
  private chatConfiguration(config: SlipwayConfig): ISecret {
    if (config.chatSecretArn) return Secret.fromSecretCompleteArn(this, 'ChatSecret', config.chatSecretArn);
    const secret = new Secret(this, 'ChatSecret', {
      secretName: `slipway/${config.stage}/chat`,
      description: 'Slipway chat channels (shared/notify/config.ts); operators put the real configuration',
      // Not a secret yet: no channels. CloudFormation leaves later PutSecretValue changes alone.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ channels: [] })),
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Third-party chat webhooks are rotated by re-issuing them at the chat provider, not by a Lambda rotation.',
    });
    return secret;
  }

  /** The chat apps' credentials: an existing secret by name, or one holding no apps to fill in (ADR 30). */
  private chatAppsSecret(config: SlipwayConfig): ISecret {
    if (config.chatAppsSecretName) return Secret.fromSecretNameV2(this, 'ChatApps', config.chatAppsSecretName);
    const secret = new Secret(this, 'ChatApps', {
      secretName: `slipway/${config.stage}/chat/apps`,
      description: "Slipway chat apps (shared/chat/apps.ts); operators put the platforms' app credentials",
      // No apps yet: every callback is refused until operators put them; later values are left alone.
      secretStringValue: SecretValue.unsafePlainText('{}'),
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "Chat app credentials are rotated by re-issuing them in each platform's developer console, not by a Lambda rotation.",
    });
    return secret;
  }
}

/** Lambda keeps an asynchronous event at most 6 hours. */
const LAMBDA_MAX_EVENT_AGE_SECONDS = 6 * 60 * 60;

/**
 * The manifest writes raw EventBridge patterns (what the local bus matches); the CDK renders its
 * EventPattern verbatim except that `detail-type` is spelled `detailType`.
 */
export function eventPatternOf(pattern: Record<string, unknown>): EventPattern {
  const { 'detail-type': detailType, ...rest } = pattern;
  return (detailType === undefined ? rest : { ...rest, detailType }) as EventPattern;
}

/** `slipway-<stage>-deploy`: stages may share an account, and execution ARNs are built from it. */
