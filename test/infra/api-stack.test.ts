import type { CfnElement } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FunctionName, functions, routeKey, routes } from '../../infra/manifest.ts';
import { tableSchema } from '../../shared/store/table-schema.ts';
import { ISSUER, slipwayApp } from './synth.ts';

describe('ApiStack', () => {
  let app: ReturnType<typeof slipwayApp>;
  let api: Template;
  let data: Template;
  beforeAll(() => {
    app = slipwayApp();
    api = Template.fromStack(app.api);
    data = Template.fromStack(app.data);
  });
  afterAll(() => app.cleanup());

  const logicalId = (construct: IConstruct) => app.api.getLogicalId(construct.node.defaultChild as CfnElement);
  const fnId = (name: FunctionName) => logicalId(app.api.functions[name]);
  const resources = (type: string) => Object.entries(api.findResources(type));
  const only = (type: string) => {
    const [first, ...more] = resources(type);
    if (!first || more.length > 0) throw new Error(`expected exactly one ${type}`);
    return first;
  };
  /** What the ApiStack imports for a DataStack attribute (the table's Ref or Arn). */
  const tableImport = (attribute: 'Ref' | 'Arn') => {
    const tableId = app.data.getLogicalId(app.data.table.node.defaultChild as CfnElement);
    const value = attribute === 'Ref' ? { Ref: tableId } : { 'Fn::GetAtt': [tableId, 'Arn'] };
    const outputs = Object.values(data.findOutputs('*', { Value: value }));
    expect(outputs).toHaveLength(1);
    return { 'Fn::ImportValue': outputs[0]?.Export.Name };
  };

  describe('routes, generated from the manifest', () => {
    it('has exactly one route per manifest route', () => {
      const keys = resources('AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties.RouteKey);
      expect(keys.sort()).toEqual(routes.map(routeKey).sort());
    });

    it('trusts one JWT authorizer: the configured issuer and audience, bearer token in Authorization', () => {
      expect(only('AWS::ApiGatewayV2::Authorizer')[1].Properties).toMatchObject({
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: { Issuer: ISSUER, Audience: ['slipway'] },
      });
    });

    const cases = routes.map((route) => ({
      key: routeKey(route),
      route,
      rule: route.public ? 'is public' : 'needs a JWT',
    }));
    it.each(cases)('$key $rule and reaches the $route.function function', ({ key, route }) => {
      const [, found] = resources('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === key) ?? [];
      if (!found) throw new Error(`no route ${key}`);
      if (route.public) {
        expect(found.Properties.AuthorizationType).toBe('NONE');
        expect(found.Properties.AuthorizerId).toBeUndefined();
      } else {
        expect(found.Properties.AuthorizationType).toBe('JWT');
        expect(found.Properties.AuthorizerId).toEqual({ Ref: only('AWS::ApiGatewayV2::Authorizer')[0] });
      }
      const integrationId = found.Properties.Target['Fn::Join'][1][1].Ref;
      expect(api.toJSON().Resources[integrationId].Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: { 'Fn::GetAtt': [fnId(route.function), 'Arn'] },
      });
    });

    it('leaves CORS off unless origins are configured', () => {
      expect(only('AWS::ApiGatewayV2::Api')[1].Properties.CorsConfiguration).toBeUndefined();
    });
  });

  describe('functions, one per manifest function', () => {
    it('creates no other functions', () => {
      expect(resources('AWS::Lambda::Function')).toHaveLength(functions.length);
    });

    it.each(functions)(
      '$name: nodejs24.x on arm64, traced, with its own log group and the house environment',
      (spec) => {
        const { Properties: fn } = api.toJSON().Resources[fnId(spec.name)];
        expect(fn).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          MemorySize: spec.memoryMb,
          Timeout: spec.timeoutSeconds,
          TracingConfig: { Mode: 'Active' },
        });
        const logGroup = api.toJSON().Resources[fn.LoggingConfig.LogGroup.Ref];
        expect(logGroup.Properties.RetentionInDays).toBeGreaterThan(0);
        const expected: Record<string, unknown> = {
          POWERTOOLS_SERVICE_NAME: 'slipway',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          NODE_OPTIONS: '--enable-source-maps',
          SLIPWAY_ADMIN_GROUPS: 'platform-admins',
        };
        if (spec.tableAccess !== 'none') expected.TABLE_NAME = tableImport('Ref');
        expect(fn.Environment.Variables).toEqual(expected);
      },
    );
  });

  describe('least privilege', () => {
    const roleOf = (name: FunctionName): string => api.toJSON().Resources[fnId(name)].Properties.Role['Fn::GetAtt'][0];
    const statementsOf = (name: FunctionName) =>
      resources('AWS::IAM::Policy')
        .filter(([, policy]) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleOf(name)))
        .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement)
        .map((s) => ({ ...s, Action: [s.Action].flat(), Resource: [s.Resource].flat() }));
    const dynamo = (statements: ReturnType<typeof statementsOf>) =>
      statements.filter((s) => s.Action.some((a: string) => a.startsWith('dynamodb:')));

    it.each(functions)('$name holds no AWS managed policy and writes logs only to its own log group', (spec) => {
      expect(api.toJSON().Resources[roleOf(spec.name)].Properties.ManagedPolicyArns).toBeUndefined();
      const statements = statementsOf(spec.name);
      const logGroupId = api.toJSON().Resources[fnId(spec.name)].Properties.LoggingConfig.LogGroup.Ref;
      const logs = statements.filter((s) => s.Action.some((a: string) => a.startsWith('logs:')));
      expect(logs).toEqual([expect.objectContaining({ Resource: [{ 'Fn::GetAtt': [logGroupId, 'Arn'] }] })]);
      // Only X-Ray, which has no resource-level permissions, gets Resource "*".
      for (const s of statements.filter((s) => s.Resource.includes('*'))) {
        expect(s.Action.every((a: string) => a.startsWith('xray:'))).toBe(true);
      }
    });

    const noTable = functions.filter((spec) => spec.tableAccess === 'none');
    const withTable = functions.filter((spec) => spec.tableAccess !== 'none');

    it.each(noTable)('$name has no access to the table at all', (spec) => {
      expect(dynamo(statementsOf(spec.name))).toEqual([]);
    });

    it.each(withTable)('$name ($tableAccess) reaches only the table and its named indexes, and cannot scan', (spec) => {
      const statements = dynamo(statementsOf(spec.name));
      const table = JSON.stringify(tableImport('Arn'));
      const indexes = tableSchema.globalSecondaryIndexes.map((gsi) =>
        JSON.stringify({ 'Fn::Join': ['', [tableImport('Arn'), `/index/${gsi.indexName}`]] }),
      );
      const on = (s: (typeof statements)[number]) => s.Resource.map((r: unknown) => JSON.stringify(r));
      for (const s of statements) {
        for (const resource of on(s)) expect([table, ...indexes]).toContain(resource);
        expect(s.Action.some((a: string) => a.includes('*') || /Scan|Stream|Shard/.test(a))).toBe(false);
        // Indexes are read-only projections: Query is all anyone needs there.
        if (on(s).some((r: string) => indexes.includes(r))) expect(s.Action).toEqual(['dynamodb:Query']);
      }
      expect(statements.flatMap(on)).toEqual(expect.arrayContaining([table, ...indexes]));
      const actions = statements.filter((s) => on(s).includes(table)).flatMap((s) => s.Action);
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
      const writes = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
      if (spec.tableAccess === 'readwrite') expect(actions).toEqual(expect.arrayContaining(writes));
      else for (const write of writes) expect(actions).not.toContain(write);
    });
  });

  describe('the $default stage', () => {
    it('throttles every route', () => {
      expect(only('AWS::ApiGatewayV2::Stage')[1].Properties).toMatchObject({
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      });
    });

    it('writes one JSON access log line per request to a log group with a retention', () => {
      const { AccessLogSettings: settings } = only('AWS::ApiGatewayV2::Stage')[1].Properties;
      const logGroup = api.toJSON().Resources[settings.DestinationArn['Fn::GetAtt'][0]];
      expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
      expect(logGroup.Properties.RetentionInDays).toBeGreaterThan(0);
      expect(JSON.parse(settings.Format)).toMatchObject({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        requestTime: '$context.requestTime',
        httpMethod: '$context.httpMethod',
        routeKey: '$context.routeKey',
        status: '$context.status',
        protocol: '$context.protocol',
        responseLength: '$context.responseLength',
        integrationLatency: '$context.integrationLatency',
      });
    });
  });

  it('outputs the API URL and the table name', () => {
    const outputs = api.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(['ApiUrl', 'TableName']);
    expect(outputs.TableName?.Value).toEqual(tableImport('Ref'));
  });

  it('synthesizes without construct warnings or errors', () => {
    for (const stack of [app.api, app.data]) {
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    }
  });
});

describe('ApiStack without an issuer, with CORS origins', () => {
  let app: ReturnType<typeof slipwayApp>;
  let api: Template;
  beforeAll(() => {
    app = slipwayApp({ issuerUrl: '', corsOrigins: 'https://console.example.test' });
    api = Template.fromStack(app.api);
  });
  afterAll(() => app.cleanup());

  it('still synthesizes, but asks for the issuer as a parameter without default, so deploy cannot proceed without one', () => {
    const { IssuerUrl } = api.toJSON().Parameters;
    expect(IssuerUrl).toMatchObject({ Type: 'String', AllowedPattern: '^https://\\S+$' });
    expect(IssuerUrl.Default).toBeUndefined();
    api.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { JwtConfiguration: { Issuer: { Ref: 'IssuerUrl' } } });
  });

  it('answers CORS preflights for the configured origins only', () => {
    api.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://console.example.test'] }),
    });
  });
});
