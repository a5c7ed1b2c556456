import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CfnOutput,
  CfnParameter,
  CrossStackReferences,
  Duration,
  ReferenceStrength,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type FunctionName, functions, routeKey, routes } from '../manifest.ts';
import type { SlipwayConfig } from './config.ts';
import { PlatformFunction } from './platform-function.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface ApiStackProps extends StackProps {
  table: ITableV2;
  config: SlipwayConfig;
}

/** The stateless half: one function per manifest entry behind one HTTP API. */
export class ApiStack extends Stack {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly functions: Readonly<Record<FunctionName, PlatformFunction>>;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    // Export/ImportValue (also what LocalStack supports): CloudFormation keeps the table's
    // exports, and so the table, in place while this stack still uses them.
    CrossStackReferences.of(this).consume(ReferenceStrength.STRONG);
    const { config, table } = props;

    const fns = {} as Record<FunctionName, PlatformFunction>;
    for (const spec of functions) {
      fns[spec.name] = new PlatformFunction(this, `${pascal(spec.name)}Function`, {
        entry: join(repoRoot, spec.entry),
        description: `Slipway ${config.stage}: ${spec.description}`,
        memoryMb: spec.memoryMb,
        timeoutSeconds: spec.timeoutSeconds,
        logLevel: config.logLevel,
        environment: { SLIPWAY_ADMIN_GROUPS: config.adminGroups },
      });
      if (spec.tableAccess !== 'none') fns[spec.name].bindTable({ table, access: spec.tableAccess });
    }
    this.functions = fns;

    const jwt = new HttpJwtAuthorizer('OidcJwt', this.issuerUrl(config), { jwtAudience: [config.audience] });
    this.api = new HttpApi(this, 'HttpApi', {
      apiName: `slipway-${config.stage}`,
      description: 'Slipway platform API',
      defaultAuthorizer: jwt,
      createDefaultStage: false, // created below, with throttling and access logs
      corsPreflight: config.corsOrigins.length > 0 ? cors(config.corsOrigins) : undefined,
    });

    // Payload 2.0; one invoke permission per function (not per route) keeps the policies small.
    const integrations = {} as Record<FunctionName, HttpLambdaIntegration>;
    for (const spec of functions) {
      integrations[spec.name] = new HttpLambdaIntegration(`${pascal(spec.name)}Integration`, fns[spec.name], {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
        scopePermissionToRoute: false,
      });
    }
    const none = new HttpNoneAuthorizer();
    for (const route of routes) {
      const created = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrations[route.function],
        authorizer: route.public ? none : jwt,
      });
      // Health, the OpenAPI document and the docs page must be readable before anyone signs in.
      for (const publicRoute of route.public ? created : []) {
        Validations.of(publicRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `Public by design (manifest.ts marks ${routeKey(route)} public)`,
        });
      }
    }

    // Who called what: kept longer than function logs, and retained if the stack goes.
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.throttleRateLimit, burstLimit: config.throttleBurstLimit },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: accessLogFormat },
    });

    new CfnOutput(this, 'ApiUrl', { value: this.stage.url });
    new CfnOutput(this, 'TableName', { value: table.tableName });
  }

  /**
   * Synth must work offline and in CI without an identity provider, but a deploy must never
   * trust a made-up issuer. So a missing issuerUrl becomes a required parameter (no default):
   * CloudFormation refuses the deploy until `--parameters IssuerUrl=https://...` is given.
   */
  private issuerUrl(config: SlipwayConfig): string {
    if (config.issuerUrl) return config.issuerUrl;
    return new CfnParameter(this, 'IssuerUrl', {
      type: 'String',
      allowedPattern: '^https://\\S+$',
      description: 'OIDC issuer URL trusted by the JWT authorizer (or synthesize with -c issuerUrl=...)',
    }).valueAsString;
  }
}

/** One JSON object per request: what Logs Insights queries and the audit trail need. */
const accessLogFormat = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    httpMethod: '$context.httpMethod',
    routeKey: '$context.routeKey',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    integrationLatency: '$context.integrationLatency',
    // Why a request never reached a handler (bad token, integration failure).
    authorizerError: '$context.authorizer.error',
    integrationError: '$context.integrationErrorMessage',
  }),
);

function cors(allowOrigins: string[]) {
  return {
    allowOrigins,
    allowMethods: [CorsHttpMethod.ANY],
    allowHeaders: ['authorization', 'content-type', 'if-match', 'idempotency-key'],
    exposeHeaders: ['etag', 'location'],
    maxAge: Duration.hours(1),
  };
}

const pascal = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);
