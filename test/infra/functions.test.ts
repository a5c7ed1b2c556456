import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../infra/aws/config.ts';
import { createFunctions } from '../../infra/aws/manifest-functions.ts';
import {
  type Capability,
  type FunctionName,
  type FunctionSpec,
  functions,
  type StateMachineName,
} from '../../infra/manifest.ts';
import { tableSchema } from '../../shared/store/table-schema.ts';
import {
  type BuiltFunction,
  builtFunctions,
  cdkJsonContext,
  referenceTo,
  type Statement,
  slipwayApp,
  statementsOfRole,
} from './synth.ts';

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
  const machineRef = (name: FunctionName, machine: 'deploy' | 'rollback') =>
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
      if (has(spec, 'start-workflows')) {
        expected.DEPLOY_STATE_MACHINE_ARN = machineRef(spec.name, 'deploy');
        expected.ROLLBACK_STATE_MACHINE_ARN = machineRef(spec.name, 'rollback');
      }
      if (has(spec, 'run-pipelines') || has(spec, 'cancel-runs')) {
        expected.DEPLOY_STATE_MACHINE_ARN = namedMachine('deploy');
        expected.PIPELINE_STATE_MACHINE_ARN = namedMachine('pipeline');
      }
      if (has(spec, 'put-events')) {
        expected.EVENT_BUS_NAME = ref(spec.name, app.delivery, { Ref: idIn(app.delivery, app.delivery.bus) });
      }
      if (has(spec, 'chat-secret')) {
        expected.SLIPWAY_CHAT_SECRET_ARN = ref(spec.name, app.delivery, {
          Ref: idIn(app.delivery, app.delivery.chatSecret),
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
      const actions = statements.filter((s) => on(s).includes(table)).flatMap((s) => s.Action);
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

    it('only deployments (deploy, rollback), pipelines (runs) and the pipeline machine (nested) start executions', () => {
      expect(rolesWith('start-workflows')).toEqual([roleOf('deployments')]);
      expect(rolesWith('run-pipelines')).toEqual([roleOf('pipelines')]);
      expect(holders(acts(/^states:StartExecution$/))).toEqual(
        [...rolesWith('start-workflows'), ...rolesWith('run-pipelines'), machineRoleOf('pipeline')].sort(),
      );
      const [grant] = statementsOf('deployments').filter(acts(/^states:StartExecution$/));
      expect(grant?.Action).toEqual(['states:StartExecution']);
      expect(grant?.Resource).toEqual([machineRef('deployments', 'deploy'), machineRef('deployments', 'rollback')]);
      const runs = statementsOf('pipelines').filter(acts(/^states:StartExecution$/));
      expect(runs.flatMap((s) => s.Resource)).toEqual([
        ref('pipelines', app.delivery, {
          Ref: app.delivery.getLogicalId(app.delivery.workflows.pipeline.node.defaultChild as CfnElement),
        }),
      ]);
    });

    it('only the functions that cancel deployments or runs (and the pipeline machine) stop executions, of their own machines', () => {
      expect(rolesWith('cancel-runs')).toEqual([roleOf('pipeline-step')]);
      expect(holders(acts(/^states:StopExecution$/))).toEqual(
        [
          ...rolesWith('start-workflows'),
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
      for (const name of ['pipelines', 'pipeline-step'] as const) {
        expect(stopsOf(name)).toContain(':execution:slipway-dev-deploy:*');
        expect(stopsOf(name)).toContain(':execution:slipway-dev-pipeline:*');
        expect(stopsOf(name)).not.toContain('rollback');
      }
    });

    it('only the functions with answer-approvals may answer task tokens (success, failure, heartbeat)', () => {
      expect(rolesWith('answer-approvals')).toEqual([roleOf('approvals')]);
      expect(holders(acts(/^states:SendTask/))).toEqual(rolesWith('answer-approvals'));
      const [grant] = statementsOf('approvals').filter(acts(/^states:/));
      expect(grant?.Action.sort()).toEqual([
        'states:SendTaskFailure',
        'states:SendTaskHeartbeat',
        'states:SendTaskSuccess',
      ]);
      expect(grant?.Resource).toEqual([machineRef('approvals', 'deploy'), machineRef('approvals', 'rollback')]);
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

    it('only the deployer may read cluster secrets or assume roles, and only under the Slipway prefixes; nobody touches EKS', () => {
      expect(rolesWith('cluster-secrets')).toEqual([roleOf('deployer')]);
      expect(holders(acts(/^sts:/))).toEqual([roleOf('deployer')]);
      expect(holders((s) => JSON.stringify(s.Resource).includes('slipway/clusters/'))).toEqual([roleOf('deployer')]);
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

    it('only the functions with chat-secret may read secrets besides the deployer, and only the chat secret', () => {
      expect(rolesWith('chat-secret')).toEqual([roleOf('notifier')]);
      expect(holders(acts(/^secretsmanager:/))).toEqual([roleOf('deployer'), roleOf('notifier')].sort());
      const grants = statementsOf('notifier').filter(acts(/^secretsmanager:/));
      expect(grants.flatMap((s) => s.Resource)).toEqual([{ Ref: idIn(app.delivery, app.delivery.chatSecret) }]);
      expect(
        grants.flatMap((s) => s.Action).every((a) => /^secretsmanager:(GetSecretValue|DescribeSecret)$/.test(a)),
      ).toBe(true);
    });

    it('lets nothing but the state machines invoke functions', () => {
      const invokers = everyStatement().filter(({ statement }) =>
        statement.Action.some((a) => a.startsWith('lambda:')),
      );
      const machineRoles = Object.values(app.delivery.workflows).map((machine) =>
        app.delivery.getLogicalId(
          (machine as unknown as { role: { node: { defaultChild: CfnElement } } }).role.node.defaultChild,
        ),
      );
      expect([...new Set(invokers.map(({ roleId }) => roleId))].sort()).toEqual(machineRoles.sort());
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
    const built = createFunctions(stack, specs, { config, table, reach: { clusterAccess } });
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
    const config = readConfig(app.node, { SLIPWAY_RESERVED_NAMESPACES: 'istio-system,monitoring' });
    const specs = functions.filter((spec) => spec.trigger === undefined && !spec.capabilities);
    const built = createFunctions(stack, specs, { config, table, reach: {} });
    const template = Template.fromStack(stack).toJSON().Resources;
    const variables = (name: FunctionName) =>
      template[stack.getLogicalId(built[name]?.node.defaultChild as CfnElement)].Properties.Environment.Variables;
    expect(variables('apps').SLIPWAY_RESERVED_NAMESPACES).toBe('istio-system,monitoring');
    for (const spec of specs.filter((one) => one.name !== 'apps'))
      expect(variables(spec.name).SLIPWAY_RESERVED_NAMESPACES).toBeUndefined();
  });
});
