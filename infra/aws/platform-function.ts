import { fileURLToPath } from 'node:url';
import { ArnFormat, Aws, Duration, RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Grant, type IRole, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, type IFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ENV, STATE_MACHINE_ARN } from '../../shared/config.ts';
import { ALLOWED_NETWORKS_ENV } from '../../shared/net/cluster-egress.ts';
import { tableSchema } from '../../shared/store/table-schema.ts';
import type { FunctionSpec, StateMachineName } from '../manifest.ts';

/** Repository root: esbuild resolves `shared/` and node_modules from here. */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface PlatformFunctionProps {
  /** Absolute path of the module that exports `handler`. */
  entry: string;
  description: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** Powertools log level. */
  logLevel: string;
  /** Extra environment on top of the house defaults. */
  environment?: Record<string, string>;
  logRetention?: RetentionDays;
}

export type TableAccess = Exclude<FunctionSpec['tableAccess'], 'none'>;

/** The state machines (deploy, rollback, build, pipeline), by manifest name. */
export type Workflows = Readonly<Record<StateMachineName, IStateMachine>>;

/** The state machines a run's cancel stops, by name (`slipway-<stage>-pipeline`). */
export type RunWorkflowNames = Readonly<Record<'pipeline' | 'deploy', string>>;

/** The secret that holds the key signing list cursors; a version id pins the one the functions get (rotation). */
export interface CursorKey {
  secret: ISecret;
  versionId?: string | undefined;
}

/** The audit checkpoints' signing key and Object Lock bucket (DataStack). */
export interface AuditCheckpoints {
  stage: string;
  key: IKey;
  retentionDays: number;
}

/**
 * The checkpoint bucket's name, fixed per stage, account and region, so grants name it without a
 * cross-stack export, and least-privilege findings can be acknowledged by that exact name.
 */
export const auditBucketName = (stage: string, account: string = Aws.ACCOUNT_ID, region: string = Aws.REGION) =>
  `slipway-${stage}-audit-checkpoints-${account}-${region}`;

/** Checkpoint objects' keys (shared/audit/checkpoint.ts): every grant stops at this prefix. */
const CHECKPOINTS = 'checkpoints/*';

/** What EventBridge Scheduler schedules of Slipway schedules are made of (DeliveryStack; ADR 24). */
export interface ScheduleTarget {
  /** The schedule group's literal name (`slipway-<stage>`): grants name it without a cross-stack export. */
  groupName: string;
  /** The role Scheduler assumes: it may invoke the fire function and send to the queue, nothing else. */
  role: IRole;
  /** The schedule-fire function every schedule invokes. */
  target: IFunction;
  /** Where fires that could not be delivered go. */
  deadLetters: IQueue;
}

/** Where the deployer's cluster credentials may come from. */
export interface ClusterAccess {
  /** Name prefix of the cluster token secrets (in this account and region). */
  secretPrefix: string;
  /** IAM role ARN pattern the deployer may assume to reach EKS clusters. */
  rolePattern: string;
}

/**
 * The one way this platform builds a Lambda function: nodejs24.x on arm64, minified ESM with
 * source maps, X-Ray, its own log group with a retention, and a role that holds only what the
 * `bind*` methods grant (no AWS managed policies).
 */
export class PlatformFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: PlatformFunctionProps) {
    // Role and log group are created beside the function because `super` has to run first.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs ${props.description}`,
    });
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Function logs are operational and bounded by retention; they go with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Instead of AWSLambdaBasicExecutionRole (log writes to every group): this group only.
    logGroup.grantWrite(role);

    super(scope, id, {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memoryMb,
      timeout: Duration.seconds(props.timeoutSeconds),
      role,
      logGroup,
      tracing: Tracing.ACTIVE,
      environment: {
        [ENV.serviceName]: 'slipway',
        POWERTOOLS_LOG_LEVEL: props.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      projectRoot: repoRoot,
      depsLockFilePath: `${repoRoot}package-lock.json`,
      bundling: {
        forceDockerBundling: false, // local esbuild from node_modules; no Docker engine needed
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'], // prefer ESM builds of dependencies: better tree shaking
        // Bundled CJS dependencies call require(); ESM has none, so give them one.
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        minify: true,
        sourceMap: true,
        sourcesContent: false, // stack traces need file/line mappings, not a second copy of the code
        // Pin the SDK we test with instead of whatever version the runtime ships today.
        bundleAwsSDK: true,
      },
    });

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Tracing.ACTIVE adds xray:PutTraceSegments/PutTelemetryRecords; X-Ray has no resource-level permissions.',
    });
  }

  /**
   * Grants the item actions the access level needs on the table, Query on its indexes by name,
   * and sets TABLE_NAME. Narrower than grantReadWriteData: no Scan (no endpoint scans), no
   * streams, no DescribeTable, no `index/*` wildcard. (A customer-managed KMS key would also
   * need key grants here.)
   */
  bindTable({ table, access }: { table: ITableV2; access: TableAccess }): void {
    Grant.addToPrincipal({ grantee: this, actions: TABLE_ACTIONS[access], resourceArns: [table.tableArn] });
    Grant.addToPrincipal({
      grantee: this,
      actions: ['dynamodb:Query'],
      resourceArns: tableSchema.globalSecondaryIndexes.map((gsi) => `${table.tableArn}/index/${gsi.indexName}`),
    });
    this.addEnvironment(ENV.tableName, table.tableName);
  }

  /**
   * StartExecution on each workflow, StopExecution on its executions (cancel), and its ARN as
   * `<NAME>_STATE_MACHINE_ARN`. Execution ARNs are built from the machine's literal name, so the
   * grant reads `execution:slipway-<stage>-deploy:*` in the template.
   */
  bindWorkflowStarts(workflows: Partial<Workflows>, names: Readonly<Record<keyof Workflows, string>>): void {
    for (const [kind, machine] of Object.entries(workflows) as [keyof Workflows, Workflows[keyof Workflows]][]) {
      machine.grantStartExecution(this);
      const executions = Stack.of(this).formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${names[kind]}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      Grant.addToPrincipal({ grantee: this, actions: ['states:StopExecution'], resourceArns: [executions] });
      Validations.of(this.role ?? this).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${names[kind]}:*]`,
        reason: 'Executions are named after deployments at run time; the grant is limited to this state machine.',
      });
      this.addEnvironment(STATE_MACHINE_ARN[kind], machine.stateMachineArn);
    }
  }

  /**
   * StartExecution on the deploy and rollback workflows named, and their ARNs as
   * `<NAME>_STATE_MACHINE_ARN`: for a function built before the machines (schedule-fire, in the
   * delivery stack), which starts deployments and never stops one.
   */
  bindLaunchesByName(names: Readonly<Record<'deploy' | 'rollback', string>>): void {
    for (const [kind, name] of Object.entries(names) as ['deploy' | 'rollback', string][]) {
      const machine = Stack.of(this).formatArn({
        service: 'states',
        resource: 'stateMachine',
        resourceName: name,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      Grant.addToPrincipal({ grantee: this, actions: ['states:StartExecution'], resourceArns: [machine] });
      this.addEnvironment(STATE_MACHINE_ARN[kind], machine);
    }
  }

  /**
   * StopExecution on pipeline and deploy executions (a cancelled run's deployment is cancelled
   * with it), with `pipeline` also StartExecution on it (starting runs), and the machines' ARNs as
   * `<NAME>_STATE_MACHINE_ARN`. The ARNs are built from the machines' names, not their resources,
   * so the pipeline's own step function can hold this without a dependency cycle.
   */
  bindRuns(names: RunWorkflowNames, pipeline?: IStateMachine | 'by-name'): void {
    const arn = (resource: string, resourceName: string) =>
      Stack.of(this).formatArn({
        service: 'states',
        resource,
        resourceName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    // A function built before the machines (the hook dispatcher, in the delivery stack) names it.
    if (pipeline === 'by-name') {
      Grant.addToPrincipal({
        grantee: this,
        actions: ['states:StartExecution'],
        resourceArns: [arn('stateMachine', names.pipeline)],
      });
    } else pipeline?.grantStartExecution(this);
    for (const [kind, name] of Object.entries(names)) {
      Grant.addToPrincipal({
        grantee: this,
        actions: ['states:StopExecution'],
        resourceArns: [arn('execution', `${name}:*`)],
      });
      Validations.of(this.role ?? this).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${name}:*]`,
        reason:
          'Executions are named after runs and deployments at run time; the grant is limited to this state machine.',
      });
      this.addEnvironment(`${kind.toUpperCase()}_STATE_MACHINE_ARN`, arn('stateMachine', name));
    }
  }

  /** SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat on each workflow: answers its approval waits. */
  bindTaskAnswers(workflows: Partial<Workflows>): void {
    for (const machine of Object.values(workflows)) machine.grantTaskResponse(this);
  }

  /** PutEvents on this bus only, and its name as EVENT_BUS_NAME. */
  bindBus(bus: IEventBus): void {
    bus.grantPutEventsTo(this);
    this.addEnvironment(ENV.eventBusName, bus.eventBusName);
  }

  /** Read cluster token secrets and assume cluster roles: the deployer's reach, nobody else's. */
  bindClusterAccess({ secretPrefix, rolePattern }: ClusterAccess): void {
    this.#grantSecretsUnder(
      secretPrefix,
      ['secretsmanager:GetSecretValue'],
      'Cluster token secrets are registered at run time (POST /clusters); the name prefix is the boundary.',
    );
    Grant.addToPrincipal({ grantee: this, actions: ['sts:AssumeRole'], resourceArns: [rolePattern] });
    Validations.of(this.role ?? this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${rolePattern}]`,
      reason:
        "Clusters' roles live in their own accounts and are registered at run time; the name prefix is the boundary.",
    });
  }

  /**
   * Read the builds' registry and Git credentials (secrets named under the prefix), and the prefix as
   * SLIPWAY_BUILD_SECRET_PREFIX, so the names the builder reads are the ones it may read (ADR 18).
   */
  bindBuildSecrets(prefix: string): void {
    this.#grantSecretsUnder(
      prefix,
      ['secretsmanager:GetSecretValue'],
      'Registry and Git credentials are stored per host by operators; the name prefix is the boundary.',
    );
    this.addEnvironment(ENV.buildSecretPrefix, prefix);
  }

  /** Read the Git provider tokens commit statuses are posted with (secrets named under the prefix; ADR 23). */
  bindGitTokens(prefix: string): void {
    this.#grantSecretsUnder(
      prefix,
      ['secretsmanager:GetSecretValue'],
      'Git provider tokens are stored per app by its owners; the name prefix is the boundary.',
    );
  }

  /** One secret per record under `prefix` (shared/store/record-secrets.ts): managed, or read only. */
  #bindRecordSecrets(prefix: string, manage: boolean, record: string): void {
    const actions = manage
      ? [
          'secretsmanager:CreateSecret',
          'secretsmanager:PutSecretValue',
          'secretsmanager:GetSecretValue',
          'secretsmanager:DeleteSecret',
        ]
      : ['secretsmanager:GetSecretValue'];
    this.#grantSecretsUnder(
      prefix,
      actions,
      `One secret per ${record}, named after its id at run time; the name prefix is the boundary.`,
    );
  }

  /**
   * `actions` on the secrets named under `prefix` (this account and region), acknowledged for cdk-nag
   * as the template writes the resource: secrets named at run time, the name prefix the boundary.
   */
  #grantSecretsUnder(prefix: string, actions: string[], reason: string): void {
    const secrets = Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${prefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    Grant.addToPrincipal({ grantee: this, actions, resourceArns: [secrets] });
    Validations.of(this.role ?? this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*]`,
      reason,
    });
  }

  /** The networks private cluster addresses must lie in, when the platform narrows them (ADR 13). */
  bindClusterNetworks(networks: readonly string[]): void {
    if (networks.length > 0) this.addEnvironment(ALLOWED_NETWORKS_ENV, networks.join(','));
  }

  /**
   * For a function that only reads the table (manifest `record-events`): puts of outbox events and
   * the puts, updates and deletes of its callers' idempotency records, by partition key prefix
   * (`dynamodb:LeadingKeys`). It cannot touch any other item, the audit log's included.
   */
  bindEventRecording(table: ITableV2): void {
    Grant.addToPrincipal({
      grantee: this,
      actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resourceArns: [table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['OUTBOX#*', 'IDEMPOTENCY#*'] } },
    });
  }

  /** List and read checkpoints, and the signing key's public half to verify them; SLIPWAY_AUDIT_BUCKET and _KEY_ID. */
  bindAuditCheckpointReads({ stage, key }: AuditCheckpoints): void {
    const bucket = auditBucketName(stage);
    Grant.addToPrincipal({ grantee: this, actions: ['s3:GetObject'], resourceArns: [checkpointObjects(bucket)] });
    Grant.addToPrincipal({
      grantee: this,
      actions: ['s3:ListBucket'],
      resourceArns: [`arn:${Aws.PARTITION}:s3:::${bucket}`],
      conditions: { StringLike: { 's3:prefix': [CHECKPOINTS] } },
    });
    Grant.addToPrincipal({ grantee: this, actions: ['kms:GetPublicKey'], resourceArns: [key.keyArn] });
    this.#acknowledgeCheckpointPrefix(stage);
    this.addEnvironment(ENV.auditBucket, bucket);
    this.addEnvironment(ENV.auditKeyId, key.keyArn);
  }

  /** Sign checkpoints and store them with their retention (no deletes: nobody gets those). */
  bindAuditCheckpointWrites({ stage, key, retentionDays }: AuditCheckpoints): void {
    Grant.addToPrincipal({
      grantee: this,
      actions: ['s3:PutObject', 's3:PutObjectRetention'],
      resourceArns: [checkpointObjects(auditBucketName(stage))],
    });
    Grant.addToPrincipal({ grantee: this, actions: ['kms:Sign'], resourceArns: [key.keyArn] });
    this.#acknowledgeCheckpointPrefix(stage);
    this.addEnvironment(ENV.auditRetentionDays, String(retentionDays));
  }

  #acknowledgeCheckpointPrefix(stage: string): void {
    const bucket = auditBucketName(stage, '<AWS::AccountId>', '<AWS::Region>');
    Validations.of(this.role ?? this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucket}/${CHECKPOINTS}]`,
      reason: 'Checkpoints are numbered at run time; the grant stops at the checkpoint prefix of the one bucket.',
    });
  }

  /**
   * The Git webhook endpoints' secrets, one per endpoint under `prefix`: `manage` (the webhooks API)
   * creates, rotates, reads and deletes them; otherwise (the hook route) reads only.
   */
  bindHookSecrets(prefix: string, manage: boolean): void {
    this.#bindRecordSecrets(prefix, manage, 'webhook endpoint');
    this.addEnvironment(ENV.hookSecretPrefix, prefix);
  }

  /**
   * Create, update, read and delete the Scheduler schedules of the platform's group (no other
   * group, no list), pass the scheduler role to Scheduler only, and the four settings the
   * Scheduler adapter reads (shared/calendar/scheduler.ts).
   */
  bindSchedules({ groupName, role, target, deadLetters }: ScheduleTarget): void {
    const schedules = Stack.of(this).formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${groupName}/*`,
    });
    Grant.addToPrincipal({
      grantee: this,
      actions: [
        'scheduler:CreateSchedule',
        'scheduler:UpdateSchedule',
        'scheduler:GetSchedule',
        'scheduler:DeleteSchedule',
      ],
      resourceArns: [schedules],
    });
    Grant.addToPrincipal({
      grantee: this,
      actions: ['iam:PassRole'],
      resourceArns: [role.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    });
    Validations.of(this.role ?? this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${groupName}/*]`,
      reason:
        'One Scheduler schedule per Slipway schedule, named after its id at run time; the grant stops at the platform group.',
    });
    this.addEnvironment(ENV.scheduleGroup, groupName);
    this.addEnvironment(ENV.scheduleTargetArn, target.functionArn);
    this.addEnvironment(ENV.schedulerRoleArn, role.roleArn);
    this.addEnvironment(ENV.scheduleDlqArn, deadLetters.queueArn);
  }

  /**
   * Read the chat apps' credentials (callback verification, bot APIs), and the secret as
   * SLIPWAY_CHAT_APPS_SECRET: its ARN when the stack made it, else the name it was given.
   */
  bindChatApps(secret: ISecret): void {
    secret.grantRead(this);
    this.addEnvironment(ENV.chatAppsSecret, secret.secretFullArn ?? secret.secretName);
  }

  /**
   * The project chat channels' secrets, one per channel under `prefix` (ADR 32): `manage` (the
   * channels API) creates, changes, reads and deletes them; otherwise (the notifier) reads only.
   */
  bindChannelSecrets(prefix: string, manage: boolean): void {
    this.#bindRecordSecrets(prefix, manage, 'project chat channel');
    this.addEnvironment(ENV.chatChannelSecretPrefix, prefix);
  }

  /** Read the chat channel configuration, and its ARN as SLIPWAY_CHAT_SECRET_ARN. */
  bindChatSecret(secret: ISecret): void {
    secret.grantRead(this);
    this.addEnvironment(ENV.chatSecretArn, secret.secretArn);
  }

  /**
   * The cursor signing key as SLIPWAY_CURSOR_KEY, resolved by CloudFormation at deploy time (a
   * dynamic reference): no Secrets Manager client, call or grant in the function (ADR 14).
   */
  bindCursorKey({ secret, versionId }: CursorKey): void {
    const value = SecretValue.secretsManager(secret.secretArn, versionId ? { versionId } : {});
    this.addEnvironment(ENV.cursorKey, value.unsafeUnwrap());
  }
}

const checkpointObjects = (bucket: string) => `arn:${Aws.PARTITION}:s3:::${bucket}/${CHECKPOINTS}`;

const READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'];
/** Transactions need no actions of their own: they are authorized item by item. */
const TABLE_ACTIONS: Record<TableAccess, string[]> = {
  read: READ,
  readwrite: [...READ, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
};
