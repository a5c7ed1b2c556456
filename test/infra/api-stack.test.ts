import type { CfnElement } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FunctionName, functions, routeKey, routes } from '../../infra/manifest.ts';
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

  const fnId = (name: FunctionName) => {
    const fn = app.api.functions[name];
    if (!fn) throw new Error(`${name} is not in the ApiStack`);
    return app.api.getLogicalId(fn.node.defaultChild as CfnElement);
  };
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
    it('are served by the API functions only, each built here', () => {
      const apiFunctions = functions.filter((spec) => (spec.trigger ?? 'api') === 'api').map((spec) => spec.name);
      expect(Object.keys(app.api.functions).sort()).toEqual([...apiFunctions].sort());
      expect(resources('AWS::Lambda::Function')).toHaveLength(apiFunctions.length);
      for (const route of routes) expect(apiFunctions).toContain(route.function);
    });

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

  it('gives every API function the per-caller quotas it counts (60 writes a minute per user, 10 deploys per environment)', () => {
    for (const [, fn] of resources('AWS::Lambda::Function')) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        SLIPWAY_QUOTA_WRITES_PER_MINUTE: '60',
        SLIPWAY_QUOTA_DEPLOYS_PER_MINUTE: '10',
      });
    }
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

  it('outputs the API URL and the table name (and exports what the ObservabilityStack watches)', () => {
    const outputs = api.findOutputs('*');
    expect(
      Object.keys(outputs)
        .filter((key) => !key.startsWith('Exports'))
        .sort(),
    ).toEqual(['ApiUrl', 'TableName']);
    expect(outputs.TableName?.Value).toEqual(tableImport('Ref'));
  });

  it('synthesizes without construct warnings or errors', () => {
    for (const stack of [app.api, app.delivery, app.data, app.observability]) {
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    }
  });
});

describe('ApiStack without an issuer, with CORS origins', () => {
  let app: ReturnType<typeof slipwayApp>;
  let api: Template;
  beforeAll(() => {
    app = slipwayApp({
      issuerUrl: '',
      corsOrigins: 'https://console.example.test',
      quotaWritesPerMinute: '120',
      quotaDeploysPerMinute: '3',
    });
    api = Template.fromStack(app.api);
  });
  afterAll(() => app.cleanup());

  it('still synthesizes, but asks for the issuer as a parameter without default, so deploy cannot proceed without one', () => {
    const { IssuerUrl } = api.toJSON().Parameters;
    expect(IssuerUrl).toMatchObject({ Type: 'String', AllowedPattern: '^https://\\S+$' });
    expect(IssuerUrl.Default).toBeUndefined();
    api.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { JwtConfiguration: { Issuer: { Ref: 'IssuerUrl' } } });
  });

  it('answers CORS preflights for the configured origins only, without credentials, exposing the headers clients read', () => {
    const [api0] = Object.values(api.findResources('AWS::ApiGatewayV2::Api'));
    expect(api0?.Properties.CorsConfiguration).toEqual({
      AllowOrigins: ['https://console.example.test'],
      AllowCredentials: false,
      AllowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      AllowHeaders: ['authorization', 'content-type', 'if-match', 'idempotency-key'],
      ExposeHeaders: ['etag', 'location', 'retry-after', 'ratelimit', 'ratelimit-policy', 'idempotent-replayed'],
      MaxAge: 3600,
    });
  });

  it('passes configured quotas to the functions', () => {
    for (const fn of Object.values(api.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        SLIPWAY_QUOTA_WRITES_PER_MINUTE: '120',
        SLIPWAY_QUOTA_DEPLOYS_PER_MINUTE: '3',
      });
    }
  });
});
