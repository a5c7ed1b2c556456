import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../infra/aws/config.ts';
import { createFunctions } from '../../infra/aws/manifest-functions.ts';
import {
  type Capability,
  type FunctionName,
  type FunctionSpec,
  functions,
  routes,
  type StateMachineName,
} from '../../infra/manifest.ts';
import { operations } from '../../shared/http/openapi/operations.ts';
import { tableSchema } from '../../shared/store/table-schema.ts';
import {
  type BuiltFunction,
  builtFunctions,
  cdkJsonContext,
  referenceTo,
  type SlipwayTestApp,
  type Statement,
  slipwayApp,
  statementsOfRole,
} from './synth.ts';

/** `{{resolve:secretsmanager:<cursor key ARN>:SecretString:::<version>}}`, as CloudFormation reads it at deploy time. */
const cursorKeyReference = (app: SlipwayTestApp, versionId: string) => ({
  'Fn::Join': [
    '',
    [
      '{{resolve:secretsmanager:',
      { Ref: app.api.getLogicalId(app.api.cursorKey.node.defaultChild as CfnElement) },
      `:SecretString:::${versionId}}}`,
    ],
  ],
});

/** Every manifest function, in whichever stack its trigger puts it: house settings and least privilege. */
describe('manifest functions', () => {
  let app: ReturnType<typeof slipwayApp>;
  let built: Record<FunctionName, BuiltFunction>;
  beforeAll(() => {
    app = slipwayApp();
    built = builtFunctions(app);
  });
  afterAll(() => app.cleanup());

  const propsOf = (name: FunctionName) => {
    const { template, logicalId } = built[name];
    return template.toJSON().Resources[logicalId].Properties;
  };
  const roleOf = (name: FunctionName): string => propsOf(name).Role['Fn::GetAtt'][0];
  const statementsOf = (name: FunctionName) => statementsOfRole(built[name].template, roleOf(name));
  const ref = (name: FunctionName, producer: Stack, value: unknown) => referenceTo(built[name].stack, producer, value);
  const idIn = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const tableRef = (name: FunctionName, attribute: 'Ref' | 'Arn') => {
    const tableId = idIn(app.data, app.data.table);
    return ref(name, app.data, attribute === 'Ref' ? { Ref: tableId } : { 'Fn::GetAtt': [tableId, 'Arn'] });
  };
  const machineRef = (name: FunctionName, machine: 'deploy' | 'rollback' | 'build') =>
    ref(name, app.delivery, {
      Ref: app.delivery.getLogicalId(app.delivery.workflows[machine].node.defaultChild as CfnElement),
    });
  const has = (spec: FunctionSpec, capability: Capability) => spec.capabilities?.includes(capability) ?? false;
  /** A machine's ARN built from its name (no reference to the resource: no dependency cycle). */
  const namedMachine = (name: string) => ({
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':states:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:stateMachine:slipway-dev-${name}`,
      ],
    ],
  });
  const machineRoleOf = (machine: StateMachineName) =>
    app.delivery.getLogicalId(
      (app.delivery.workflows[machine] as unknown as { role: { node: { defaultChild: CfnElement } } }).role.node
        .defaultChild,
    );

  /** The checkpoint bucket's name, fixed by stage, account and region (no export to depend on). */
  const checkpointBucket = {
    'Fn::Join': ['', ['slipway-dev-audit-checkpoints-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]],
  };
  const keyArn = (name: FunctionName) =>
    ref(name, app.data, {
      'Fn::GetAtt': [app.data.getLogicalId(app.data.auditCheckpoints.key.node.defaultChild as CfnElement), 'Arn'],
    });

  it('gives the cursor key to exactly the functions that serve a paged list', () => {
    const listing = new Set(
      operations
        .filter((op) => op.paged)
        .map((op) => routes.find((r) => r.method === op.method && r.path === op.path)?.function),
    );
    expect(listing.size).toBeGreaterThan(5);
    expect(functions.filter((spec) => has(spec, 'sign-cursors')).map((spec) => spec.name)).toEqual(
      functions.filter((spec) => listing.has(spec.name)).map((spec) => spec.name),
    );
  });

  it('keeps the cursor key in a generated secret that no function may read: CloudFormation resolves it, a pinned version rolls a rotation out', () => {
    expect(Template.fromStack(app.api).toJSON().Resources[idIn(app.api, app.api.cursorKey)].Properties).toMatchObject({
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
    const pinned = slipwayApp({ cursorKeyVersionId: '0123456789abcdef0123456789abcdef' });
    try {
      const variables = Template.fromStack(pinned.api).findResources('AWS::Lambda::Function');
      const keys = Object.values(variables).map((fn) => fn.Properties.Environment.Variables.SLIPWAY_CURSOR_KEY);
      expect(keys.filter(Boolean)).toContainEqual(cursorKeyReference(pinned, '0123456789abcdef0123456789abcdef'));
    } finally {
      pinned.cleanup();
    }
  });

  it('builds API functions in the ApiStack and workflow, bus and stream functions in the DeliveryStack, nowhere else', () => {
    for (const spec of functions) {
      expect(built[spec.name].stack).toBe((spec.trigger ?? 'api') === 'api' ? app.api : app.delivery);
    }
    const count = (stack: Stack) =>
      Object.keys(Template.fromStack(stack).findResources('AWS::Lambda::Function')).length;
    expect(count(app.api) + count(app.delivery)).toBe(functions.length);
    expect(count(app.data)).toBe(0);
  });

  it.each(functions)(
    '$name: nodejs24.x on arm64, traced, its own log group, the house environment and its capabilities’ settings',
    (spec) => {
      const fn = propsOf(spec.name);
      expect(fn).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: spec.memoryMb,
        Timeout: spec.timeoutSeconds,
        TracingConfig: { Mode: 'Active' },
      });
      const logGroup = built[spec.name].template.toJSON().Resources[fn.LoggingConfig.LogGroup.Ref];
      expect(logGroup.Properties.RetentionInDays).toBeGreaterThan(0);
      const expected: Record<string, unknown> = {
        POWERTOOLS_SERVICE_NAME: 'slipway',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        SLIPWAY_ADMIN_GROUPS: 'platform-admins',
        SLIPWAY_GROUPS_CLAIM: 'groups',
      };
      if (spec.tableAccess !== 'none') expected.TABLE_NAME = tableRef(spec.name, 'Ref');
      // API functions count the per-caller quotas (shared/http/quota.ts).
      if ((spec.trigger ?? 'api') === 'api') {
        expected.SLIPWAY_QUOTA_WRITES_PER_MINUTE = '60';
        expected.SLIPWAY_QUOTA_DEPLOYS_PER_MINUTE = '10';
      }
      // schedule-fire is built before the machines, in their stack: it names them.
      const machineOf = (machine: 'deploy' | 'rollback') =>
        (spec.trigger ?? 'api') === 'api' ? machineRef(spec.name, machine) : namedMachine(machine);
      if (has(spec, 'start-workflows')) {
        expected.DEPLOY_STATE_MACHINE_ARN = machineOf('deploy');
        expected.ROLLBACK_STATE_MACHINE_ARN = machineOf('rollback');
      }
      if (has(spec, 'run-pipelines') || has(spec, 'cancel-runs')) {
        expected.DEPLOY_STATE_MACHINE_ARN = namedMachine('deploy');
        expected.PIPELINE_STATE_MACHINE_ARN = namedMachine('pipeline');
      }
      if (has(spec, 'start-builds')) expected.BUILD_STATE_MACHINE_ARN = machineRef(spec.name, 'build');
      if (has(spec, 'build-secrets')) expected.SLIPWAY_BUILD_SECRET_PREFIX = 'slipway/builds/';
      if (has(spec, 'hook-secrets') || has(spec, 'read-hook-secrets')) {
        expected.SLIPWAY_HOOK_SECRET_PREFIX = 'slipway/hooks/';
      }
      if (has(spec, 'channel-secrets') || has(spec, 'read-channel-secrets')) {
        expected.SLIPWAY_CHAT_CHANNEL_SECRET_PREFIX = 'slipway/chat/channels/';
      }
      if (spec.settings?.includes('build-namespace')) expected.SLIPWAY_BUILD_NAMESPACE = 'slipway-builds';
      if (spec.settings?.includes('dora-rollback-window')) expected.SLIPWAY_DORA_ROLLBACK_WINDOW_HOURS = '24';
      if (spec.settings?.includes('dashboard')) {
        const region = { Ref: 'AWS::Region' };
        expected.SLIPWAY_DASHBOARD_URL = {
          'Fn::Join': [
            '',
            [
              'https://',
              region,
              '.console.aws.amazon.com/cloudwatch/home?region=',
              region,
              '#dashboards/dashboard/slipway-dev',
            ],
          ],
        };
      }
      if (has(spec, 'put-events')) {
        expected.EVENT_BUS_NAME = ref(spec.name, app.delivery, { Ref: idIn(app.delivery, app.delivery.bus) });
      }
      if (has(spec, 'chat-secret')) {
        expected.SLIPWAY_CHAT_SECRET_ARN = ref(spec.name, app.delivery, {
          Ref: idIn(app.delivery, app.delivery.chatSecret),
        });
      }
      if (has(spec, 'chat-apps')) {
        expected.SLIPWAY_CHAT_APPS_SECRET = ref(spec.name, app.delivery, {
          Ref: idIn(app.delivery, app.delivery.chatApps),
        });
      }
      if (has(spec, 'sign-cursors')) expected.SLIPWAY_CURSOR_KEY = cursorKeyReference(app, '');
      if (has(spec, 'audit-checkpoints-read')) {
        expected.SLIPWAY_AUDIT_BUCKET = checkpointBucket;
        expected.SLIPWAY_AUDIT_KEY_ID = keyArn(spec.name);
      }
      if (has(spec, 'audit-checkpoints-write')) expected.SLIPWAY_AUDIT_RETENTION_DAYS = '365';
      if (has(spec, 'manage-schedules')) {
        const { role, target, deadLetters } = app.delivery.scheduleTarget;
        expected.SLIPWAY_SCHEDULE_GROUP = 'slipway-dev';
        expected.SLIPWAY_SCHEDULE_TARGET_ARN = ref(spec.name, app.delivery, {
          'Fn::GetAtt': [idIn(app.delivery, target), 'Arn'],
        });
        expected.SLIPWAY_SCHEDULER_ROLE_ARN = ref(spec.name, app.delivery, {
          'Fn::GetAtt': [idIn(app.delivery, role), 'Arn'],
        });
        expected.SLIPWAY_SCHEDULE_DLQ_ARN = ref(spec.name, app.delivery, {
          'Fn::GetAtt': [idIn(app.delivery, deadLetters), 'Arn'],
        });
      }
      expect(fn.Environment.Variables).toEqual(expected);
    },
  );

  describe('least privilege', () => {
    const dynamo = (statements: Statement[]) =>
      statements.filter((s) => s.Action.some((a) => a.startsWith('dynamodb:')));

    it.each(functions)('$name holds no AWS managed policy and writes logs only to its own log group', (spec) => {
      const { template } = built[spec.name];
      expect(template.toJSON().Resources[roleOf(spec.name)].Properties.ManagedPolicyArns).toBeUndefined();
      const statements = statementsOf(spec.name);
      const logGroupId = propsOf(spec.name).LoggingConfig.LogGroup.Ref;
      const logs = statements.filter((s) => s.Action.some((a) => a.startsWith('logs:')));
      expect(logs).toEqual([expect.objectContaining({ Resource: [{ 'Fn::GetAtt': [logGroupId, 'Arn'] }] })]);
      // Only X-Ray, which has no resource-level permissions, gets Resource "*".
      for (const s of statements.filter((s) => s.Resource.includes('*'))) {
        expect(s.Action.every((a) => a.startsWith('xray:'))).toBe(true);
      }
    });

    const noTable = functions.filter((spec) => spec.tableAccess === 'none');
    const withTable = functions.filter((spec) => spec.tableAccess !== 'none');

    it.each(noTable)('$name has no access to the table items at all', (spec) => {
      const items = dynamo(statementsOf(spec.name)).filter(
        (s) => !s.Action.every((a) => /Stream|Shard|GetRecords/.test(a)),
      );
      expect(items).toEqual([]);
    });

    it.each(withTable)('$name ($tableAccess) reaches only the table and its named indexes, and cannot scan', (spec) => {
      const statements = dynamo(statementsOf(spec.name));
      const table = JSON.stringify(tableRef(spec.name, 'Arn'));
      const indexes = tableSchema.globalSecondaryIndexes.map((gsi) =>
        JSON.stringify({ 'Fn::Join': ['', [tableRef(spec.name, 'Arn'), `/index/${gsi.indexName}`]] }),
      );
      const on = (s: Statement) => s.Resource.map((r) => JSON.stringify(r));
      for (const s of statements) {
        for (const resource of on(s)) expect([table, ...indexes]).toContain(resource);
        expect(s.Action.some((a) => a.includes('*') || /Scan|Stream|Shard/.test(a))).toBe(false);
        // Indexes are read-only projections: Query is all anyone needs there.
        if (on(s).some((r) => indexes.includes(r))) expect(s.Action).toEqual(['dynamodb:Query']);
      }
      expect(statements.flatMap(on)).toEqual(expect.arrayContaining([table, ...indexes]));
      // record-events writes are conditioned on the partition key: checked on their own below.
      const actions = statements
        .filter((s) => on(s).includes(table) && s.Condition === undefined)
        .flatMap((s) => s.Action);
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
      const writes = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
      if (spec.tableAccess === 'readwrite') expect(actions).toEqual(expect.arrayContaining(writes));
      else for (const write of writes) expect(actions).not.toContain(write);
    });

    /** Every statement of every role in every Slipway stack, with the role's logical id and stack. */
    const everyStatement = () =>
      [app.data, app.delivery, app.api].flatMap((stack) => {
        const template = Template.fromStack(stack);
        return Object.keys(template.findResources('AWS::IAM::Role')).flatMap((roleId) =>
          statementsOfRole(template, roleId).map((statement) => ({ stack, roleId, statement })),
        );
      });
    const holders = (matches: (s: Statement) => boolean) =>
      [
        ...new Set(
          everyStatement()
            .filter(({ statement }) => matches(statement))
            .map(({ roleId }) => roleId),
        ),
      ].sort();
    const rolesWith = (capability: Capability) =>
      functions
        .filter((spec) => has(spec, capability))
        .map((spec) => roleOf(spec.name))
        .sort();
    const acts = (pattern: RegExp) => (s: Statement) => s.Action.some((a) => pattern.test(a));

    it('only deployments and schedule fires (deploy, rollback), builds, runs and the hook dispatcher (pipeline) and the pipeline machine (nested) start executions', () => {
      expect(rolesWith('start-workflows')).toEqual([roleOf('deployments'), roleOf('schedule-fire')].sort());
      expect(rolesWith('start-builds')).toEqual([roleOf('builds')]);
      expect(rolesWith('run-pipelines')).toEqual([roleOf('runs'), roleOf('hook-dispatcher')].sort());
      expect(holders(acts(/^states:StartExecution$/))).toEqual(
        [
          ...rolesWith('start-workflows'),
          ...rolesWith('start-builds'),
          ...rolesWith('run-pipelines'),
          machineRoleOf('pipeline'),
        ].sort(),
      );
      const [grant] = statementsOf('deployments').filter(acts(/^states:StartExecution$/));
      expect(grant?.Action).toEqual(['states:StartExecution']);
      expect(grant?.Resource).toEqual([machineRef('deployments', 'deploy'), machineRef('deployments', 'rollback')]);
      const [build] = statementsOf('builds').filter(acts(/^states:StartExecution$/));
      expect(build?.Resource).toEqual([machineRef('builds', 'build')]);
      const runs = statementsOf('runs').filter(acts(/^states:StartExecution$/));
      expect(runs.flatMap((s) => s.Resource)).toEqual([
        ref('runs', app.delivery, {
          Ref: app.delivery.getLogicalId(app.delivery.workflows.pipeline.node.defaultChild as CfnElement),
        }),
      ]);
      // The hook dispatcher is built before the machines, in their stack: it names the pipeline machine.
      const dispatcher = statementsOf('hook-dispatcher').filter(acts(/^states:StartExecution$/));
      expect(dispatcher.flatMap((s) => s.Action)).toEqual(['states:StartExecution']);
      expect(dispatcher.flatMap((s) => s.Resource)).toEqual([namedMachine('pipeline')]);
      // So is schedule-fire: it names the deploy and rollback machines, and stops nothing.
      const fire = statementsOf('schedule-fire').filter(acts(/^states:/));
      expect(new Set(fire.flatMap((s) => s.Action))).toEqual(new Set(['states:StartExecution']));
      expect(fire.flatMap((s) => s.Resource)).toEqual([namedMachine('deploy'), namedMachine('rollback')]);
    });

    it('only the functions that cancel deployments, builds or runs (and the pipeline machine) stop executions, of their own machines', () => {
      expect(rolesWith('cancel-runs')).toEqual([roleOf('pipeline-step')]);
      expect(holders(acts(/^states:StopExecution$/))).toEqual(
        [
          ...rolesWith('start-workflows').filter((role) => role !== roleOf('schedule-fire')),
          ...rolesWith('start-builds'),
          ...rolesWith('run-pipelines'),
          ...rolesWith('cancel-runs'),
          machineRoleOf('pipeline'),
        ].sort(),
      );
      const stopsOf = (name: FunctionName) => {
        const stops = statementsOf(name).filter(acts(/^states:StopExecution$/));
        expect(new Set(stops.flatMap((s) => s.Action))).toEqual(new Set(['states:StopExecution']));
        return JSON.stringify(stops.map((s) => s.Resource));
      };
      expect(stopsOf('deployments')).toContain(':execution:slipway-dev-deploy:*');
      expect(stopsOf('deployments')).toContain(':execution:slipway-dev-rollback:*');
      expect(stopsOf('deployments')).not.toContain(':execution:slipway-dev-build:*');
      expect(stopsOf('builds')).toContain(':execution:slipway-dev-build:*');
      expect(stopsOf('builds')).not.toMatch(/slipway-dev-(deploy|rollback|pipeline)/);
      for (const name of ['runs', 'pipeline-step'] as const) {
        expect(stopsOf(name)).toContain(':execution:slipway-dev-deploy:*');
        expect(stopsOf(name)).toContain(':execution:slipway-dev-pipeline:*');
        expect(stopsOf(name)).not.toMatch(/slipway-dev-(rollback|build)/);
      }
    });

    it('only the functions with answer-approvals may answer task tokens (success, failure, heartbeat)', () => {
      // The approvals API and the chat callbacks: both decide through decide() (issue 13).
      expect(rolesWith('answer-approvals')).toEqual([roleOf('approvals'), roleOf('chat')].sort());
      expect(holders(acts(/^states:SendTask/))).toEqual(rolesWith('answer-approvals'));
      for (const name of ['approvals', 'chat'] as const) {
        const [grant] = statementsOf(name).filter(acts(/^states:/));
        expect(grant?.Action.sort()).toEqual([
          'states:SendTaskFailure',
          'states:SendTaskHeartbeat',
          'states:SendTaskSuccess',
        ]);
        expect(grant?.Resource).toEqual([machineRef(name, 'deploy'), machineRef(name, 'rollback')]);
      }
    });

    it('only the event publisher may put events, on the platform bus only', () => {
      expect(rolesWith('put-events')).toEqual([roleOf('event-publisher')]);
      // The pipeline machine's role manages only the rule through which .sync:2 learns a child ended.
      expect(holders(acts(/^events:PutEvents$/))).toEqual(rolesWith('put-events'));
      expect(holders(acts(/^events:/))).toEqual([...rolesWith('put-events'), machineRoleOf('pipeline')].sort());
      const grants = statementsOf('event-publisher').filter(acts(/^events:/));
      expect(grants).toEqual([
        expect.objectContaining({
          Action: ['events:PutEvents'],
          Resource: [{ 'Fn::GetAtt': [idIn(app.delivery, app.delivery.bus), 'Arn'] }],
        }),
      ]);
    });

    /** The functions that reach clusters: the deployer, and the build steps (the builder and the build watch). */
    const clusterReachers = () => [roleOf('deployer'), roleOf('builder'), roleOf('build-watch')].sort();

    it('only the deployer and the build steps may read cluster secrets or assume roles, only under the Slipway prefixes; nobody touches EKS', () => {
      expect(rolesWith('cluster-secrets')).toEqual(clusterReachers());
      expect(holders(acts(/^sts:/))).toEqual(clusterReachers());
      expect(holders((s) => JSON.stringify(s.Resource).includes('slipway/clusters/'))).toEqual(clusterReachers());
      expect(holders(acts(/^eks:/))).toEqual([]);
      const grants = statementsOf('deployer').filter(acts(/^(sts|secretsmanager):/));
      expect(grants).toEqual([
        expect.objectContaining({
          Action: ['secretsmanager:GetSecretValue'],
          Resource: [
            {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':secretsmanager:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':secret:slipway/clusters/*',
                ],
              ],
            },
          ],
        }),
        expect.objectContaining({ Action: ['sts:AssumeRole'], Resource: ['arn:aws:iam::*:role/slipway-deployer*'] }),
      ]);
    });

    it('only the builder may read build credentials, and only under the build secret prefix', () => {
      expect(rolesWith('build-secrets')).toEqual([roleOf('builder')]);
      expect(holders((s) => JSON.stringify(s.Resource).includes('slipway/builds/'))).toEqual([roleOf('builder')]);
      const reads = statementsOf('builder').filter((s) => JSON.stringify(s.Resource).includes('slipway/builds/'));
      expect(reads).toEqual([expect.objectContaining({ Action: ['secretsmanager:GetSecretValue'] })]);
      expect(JSON.stringify(reads[0]?.Resource)).toContain(':secret:slipway/builds/*');
    });

    it('only the commit status function may read Git provider tokens, and only under their prefix', () => {
      expect(rolesWith('git-tokens')).toEqual([roleOf('commit-status')]);
      const underPrefix = (s: { Resource: unknown }) => JSON.stringify(s.Resource).includes('slipway/git-tokens/');
      expect(holders(underPrefix)).toEqual([roleOf('commit-status')]);
      const reads = statementsOf('commit-status').filter(acts(/^secretsmanager:/));
      expect(reads).toEqual([expect.objectContaining({ Action: ['secretsmanager:GetSecretValue'] })]);
      expect(JSON.stringify(reads[0]?.Resource)).toContain(':secret:slipway/git-tokens/*');
    });

    it('only the functions with chat-secret may read secrets besides the cluster reachers, the status reporter, the webhook, chat and channel functions, and only the chat secret', () => {
      const chatReaders = [roleOf('notifier'), roleOf('alarm-notifier')];
      expect(rolesWith('chat-secret').sort()).toEqual(chatReaders.sort());
      const hookSecretHolders = [roleOf('webhooks'), roleOf('hook')];
      expect(holders(acts(/^secretsmanager:/))).toEqual(
        [
          ...clusterReachers(),
          ...chatReaders,
          roleOf('commit-status'),
          ...hookSecretHolders,
          roleOf('chat'),
          roleOf('channels'),
        ].sort(),
      );
      // Besides the chat secret, the notifier reads the chat apps and the project channels' secrets (tests below).
      const others = [':secret:slipway/chat/channels/*', idIn(app.delivery, app.delivery.chatApps)];
      for (const reader of ['notifier', 'alarm-notifier'] as const) {
        const grants = statementsOf(reader).filter(acts(/^secretsmanager:/));
        const resources = grants
          .flatMap((s) => s.Resource)
          .filter((r) => !others.some((other) => JSON.stringify(r).includes(other)));
        expect(resources).toEqual([{ Ref: idIn(app.delivery, app.delivery.chatSecret) }]);
        expect(
          grants.flatMap((s) => s.Action).every((a) => /^secretsmanager:(GetSecretValue|DescribeSecret)$/.test(a)),
        ).toBe(true);
      }
    });

    it('only the chat callbacks and the notifier (its bots) read the chat apps secret the stack made, and only to read it', () => {
      expect(rolesWith('chat-apps')).toEqual([roleOf('chat'), roleOf('notifier')].sort());
      for (const reader of ['chat', 'notifier'] as const) {
        const grants = statementsOf(reader)
          .filter(acts(/^secretsmanager:/))
          .filter((s) => JSON.stringify(s.Resource).includes(idIn(app.delivery, app.delivery.chatApps)));
        expect(grants.flatMap((s) => s.Resource)).toContainEqual(
          ref(reader, app.delivery, { Ref: idIn(app.delivery, app.delivery.chatApps) }),
        );
        expect(grants.flatMap((s) => s.Action).sort()).toEqual([
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
        ]);
      }
      const chat = statementsOf('chat').filter(acts(/^secretsmanager:/));
      expect(chat.flatMap((s) => s.Resource)).toEqual([
        ref('chat', app.delivery, { Ref: idIn(app.delivery, app.delivery.chatApps) }),
      ]);
    });

    it('only the webhooks API manages webhook secrets, and the hook route only reads them, under their prefix', () => {
      expect(rolesWith('hook-secrets')).toEqual([roleOf('webhooks')]);
      expect(rolesWith('read-hook-secrets')).toEqual([roleOf('hook')]);
      const actions = (name: FunctionName) =>
        statementsOf(name)
          .filter(acts(/^secretsmanager:/))
          .flatMap((s) => s.Action)
          .sort();
      expect(actions('hook')).toEqual(['secretsmanager:GetSecretValue']);
      expect(actions('webhooks')).toEqual([
        'secretsmanager:CreateSecret',
        'secretsmanager:DeleteSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ]);
      for (const name of ['hook', 'webhooks'] as const) {
        const resources = statementsOf(name)
          .filter(acts(/^secretsmanager:/))
          .flatMap((s) => s.Resource);
        expect(JSON.stringify(resources)).toContain(':secret:slipway/hooks/*');
      }
    });

    it('only the channels API manages project channel secrets, and the notifier only reads them, under their prefix', () => {
      expect(rolesWith('channel-secrets')).toEqual([roleOf('channels')]);
      expect(rolesWith('read-channel-secrets')).toEqual([roleOf('notifier')]);
      const channelGrants = (name: FunctionName) =>
        statementsOf(name)
          .filter(acts(/^secretsmanager:/))
          .filter((s) => JSON.stringify(s.Resource).includes(':secret:slipway/chat/channels/*'));
      expect(channelGrants('notifier').flatMap((s) => s.Action)).toEqual(['secretsmanager:GetSecretValue']);
      expect(
        channelGrants('channels')
          .flatMap((s) => s.Action)
          .sort(),
      ).toEqual([
        'secretsmanager:CreateSecret',
        'secretsmanager:DeleteSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ]);
      // The channels API holds nothing of Secrets Manager beyond its prefix.
      expect(statementsOf('channels').filter(acts(/^secretsmanager:/))).toEqual(channelGrants('channels'));
    });

    /** Every (action, resource) a role's statements allow for actions matching `pattern`, as text. */
    const grantsOf = (name: FunctionName, pattern: RegExp) =>
      statementsOf(name)
        .flatMap((s) =>
          s.Action.filter((a) => pattern.test(a)).flatMap((a) => s.Resource.map((r) => `${a} ${JSON.stringify(r)}`)),
        )
        .sort();

    it('only the functions with record-events write beside read-only table access, and only outbox and idempotency items', () => {
      expect(rolesWith('record-events')).toEqual([roleOf('audit')]);
      const conditioned = statementsOf('audit').filter((s) => s.Condition !== undefined && acts(/^dynamodb:/)(s));
      expect(conditioned).toHaveLength(1);
      expect(conditioned[0]?.Action.sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
      expect(conditioned[0]).toMatchObject({
        Resource: [tableRef('audit', 'Arn')],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['OUTBOX#*', 'IDEMPOTENCY#*'] } },
      });
    });

    const bucketParts = [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':s3:::slipway-dev-audit-checkpoints-',
      { Ref: 'AWS::AccountId' },
      '-',
      { Ref: 'AWS::Region' },
    ];
    const bucketArn = { 'Fn::Join': ['', bucketParts] };
    const checkpointObjects = { 'Fn::Join': ['', [...bucketParts, '/checkpoints/*']] };
    const grant = (action: string, resource: unknown) => `${action} ${JSON.stringify(resource)}`;

    it('only the checkpointer may sign with the audit key or write checkpoints, only under the checkpoint prefix', () => {
      expect(rolesWith('audit-checkpoints-write')).toEqual([roleOf('audit-checkpointer')]);
      expect(holders(acts(/^kms:Sign$/))).toEqual([roleOf('audit-checkpointer')]);
      expect(holders(acts(/^s3:Put/))).toEqual([roleOf('audit-checkpointer')]);
      expect(grantsOf('audit-checkpointer', /^(s3:Put|kms:Sign)/)).toEqual(
        [
          grant('kms:Sign', keyArn('audit-checkpointer')),
          grant('s3:PutObject', checkpointObjects),
          grant('s3:PutObjectRetention', checkpointObjects),
        ].sort(),
      );
    });

    it('the audit API and the checkpointer read checkpoints and the public key; nobody may delete a checkpoint or use the key otherwise', () => {
      const readers = [roleOf('audit'), roleOf('audit-checkpointer')].sort();
      expect(rolesWith('audit-checkpoints-read')).toEqual(readers);
      expect(holders(acts(/^kms:GetPublicKey$/))).toEqual(readers);
      expect(holders(acts(/^s3:(GetObject|ListBucket)$/))).toEqual(readers);
      for (const name of ['audit', 'audit-checkpointer'] as const) {
        expect(grantsOf(name, /^(s3:(Get|List)|kms:GetPublicKey)/)).toEqual(
          [
            grant('kms:GetPublicKey', keyArn(name)),
            grant('s3:GetObject', checkpointObjects),
            grant('s3:ListBucket', bucketArn),
          ].sort(),
        );
      }
      const list = statementsOf('audit').find(acts(/^s3:ListBucket$/));
      expect(list?.Condition).toEqual({ StringLike: { 's3:prefix': ['checkpoints/*'] } });
      expect(holders(acts(/^s3:Delete|^s3:\*|^kms:\*|^s3:PutBucket|^s3:BypassGovernance/))).toEqual([]);
      const kmsActions = everyStatement().flatMap(({ statement }) =>
        statement.Action.filter((a) => a.startsWith('kms:')),
      );
      expect(new Set(kmsActions)).toEqual(new Set(['kms:Sign', 'kms:GetPublicKey']));
    });

    it('lets nothing but the state machines and the scheduler role invoke functions', () => {
      const invokers = everyStatement().filter(({ statement }) =>
        statement.Action.some((a) => a.startsWith('lambda:')),
      );
      const machineRoles = Object.values(app.delivery.workflows).map((machine) =>
        app.delivery.getLogicalId(
          (machine as unknown as { role: { node: { defaultChild: CfnElement } } }).role.node.defaultChild,
        ),
      );
      const schedulerRole = idIn(app.delivery, app.delivery.scheduleTarget.role);
      expect([...new Set(invokers.map(({ roleId }) => roleId))].sort()).toEqual(
        [...machineRoles, schedulerRole].sort(),
      );
    });
  });
});

describe('createFunctions', () => {
  it('hands the allowed cluster networks to the functions that check or reach cluster URLs, and to no other', () => {
    const app = new App({
      context: {
        ...cdkJsonContext,
        'aws:cdk:bundling-stacks': [],
        clusterAllowedNetworks: '10.20.0.0/16,*.eks.amazonaws.com',
      },
    });
    const stack = new Stack(app, 'Networks');
    const table = new TableV2(stack, 'Table', { partitionKey: { name: 'PK', type: AttributeType.STRING } });
    const specs = functions.filter((spec) => ['clusters', 'deployer', 'projects', 'apps'].includes(spec.name));
    const clusterAccess = { secretPrefix: 'slipway/clusters/', rolePattern: 'arn:aws:iam::*:role/slipway-deployer*' };
    const config = readConfig(app.node, {});
    const cursorKey = { secret: new Secret(stack, 'CursorKey'), versionId: undefined };
    const built = createFunctions(stack, specs, { config, table, reach: { clusterAccess, cursorKey } });
    const resources = Template.fromStack(stack).toJSON().Resources;
    const variables = Object.fromEntries(
      Object.entries(built).map(([name, fn]) => {
        const { Environment } = resources[stack.getLogicalId(fn.node.defaultChild as CfnElement)].Properties;
        return [name, Environment.Variables.SLIPWAY_CLUSTER_ALLOWED_NETWORKS];
      }),
    );
    expect(variables).toEqual({
      clusters: '10.20.0.0/16,*.eks.amazonaws.com',
      deployer: '10.20.0.0/16,*.eks.amazonaws.com',
      projects: undefined,
      apps: undefined,
    });
  });

  it('refuses a capability its stack cannot grant (a function in the wrong stack), instead of building it without', () => {
    const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Wiring');
    const table = new TableV2(stack, 'Table', { partitionKey: { name: 'PK', type: AttributeType.STRING } });
    const deployer = functions.find((spec) => spec.name === 'deployer');
    if (!deployer) throw new Error('manifest.ts has no deployer');
    const config = readConfig(app.node, {});
    expect(() => createFunctions(stack, [deployer], { config, table, reach: {} })).toThrow(
      'deployer needs cluster-secrets, which its stack cannot grant',
    );
  });

  it('passes a platform setting only to the functions that read it', () => {
    const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Settings');
    const table = new TableV2(stack, 'Table', { partitionKey: { name: 'PK', type: AttributeType.STRING } });
    const config = readConfig(app.node, {
      SLIPWAY_RESERVED_NAMESPACES: 'istio-system,monitoring',
      SLIPWAY_GIT_ALLOW_PRIVATE_HOSTS: 'ghe.corp.example',
    });
    // The API functions; the one capability they all may hold without more reach is signing cursors.
    const specs = functions.filter(
      (spec) => spec.trigger === undefined && (spec.capabilities ?? []).every((c) => c === 'sign-cursors'),
    );
    const cursorKey = { secret: new Secret(stack, 'CursorKey'), versionId: undefined };
    const built = createFunctions(stack, specs, { config, table, reach: { cursorKey } });
    const template = Template.fromStack(stack).toJSON().Resources;
    const variables = (name: FunctionName) =>
      template[stack.getLogicalId(built[name]?.node.defaultChild as CfnElement)].Properties.Environment.Variables;
    expect(variables('apps').SLIPWAY_RESERVED_NAMESPACES).toBe('istio-system,monitoring');
    for (const spec of specs.filter((one) => one.name !== 'apps'))
      expect(variables(spec.name).SLIPWAY_RESERVED_NAMESPACES).toBeUndefined();
    // A private Git provider's hosts: the apps API (to accept its base URL) and the commit status function.
    expect(variables('apps').SLIPWAY_GIT_ALLOW_PRIVATE_HOSTS).toBe('ghe.corp.example');
    for (const spec of specs.filter((one) => one.name !== 'apps'))
      expect(variables(spec.name).SLIPWAY_GIT_ALLOW_PRIVATE_HOSTS).toBeUndefined();
    const status = functions.find((spec) => spec.name === 'commit-status');
    expect(status?.settings).toEqual(['git-private-hosts']);
  });
});
