import {
  CfnOutput,
  CfnParameter,
  CrossStackReferences,
  Duration,
  ReferenceStrength,
  RemovalPolicy,
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
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { API_SETTING_ENV, CORS } from '../api-settings.ts';
import { type FunctionName, functions, routeKey, routes } from '../manifest.ts';
import type { SlipwayConfig } from './config.ts';
import {
  createFunctions,
  type Functions,
  functionNamed,
  isApiFunction,
  pascal,
  type Reach,
} from './manifest-functions.ts';

export interface ApiStackProps extends StackProps {
  table: ITableV2;
  /** The DeliveryStack's workflows and bus, for the API functions' capabilities. */
  reach: Reach;
  config: SlipwayConfig;
}

/** The HTTP API and the functions behind its routes (the manifest's `api` functions). */
export class ApiStack extends Stack {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly functions: Functions;
  /** Holds the key that signs list cursors (SLIPWAY_CURSOR_KEY of the functions that list). */
  readonly cursorKey: Secret;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    // Export/ImportValue (also what LocalStack supports): CloudFormation keeps the table's
    // exports, and so the table, in place while this stack still uses them.
    CrossStackReferences.of(this).consume(ReferenceStrength.STRONG);
    const { config, table } = props;
    this.cursorKey = this.cursorKeySecret(config);
    const reach: Reach = {
      ...props.reach,
      cursorKey: { secret: this.cursorKey, versionId: config.cursorKeyVersionId },
    };
    const apiFunctions = functions.filter(isApiFunction);
    this.functions = createFunctions(this, apiFunctions, { config, table, reach });
    // The quotas are counted by the functions themselves (shared/http/quota.ts).
    for (const fn of Object.values(this.functions)) {
      fn.addEnvironment(API_SETTING_ENV.quotaWritesPerMinute, String(config.quotaWritesPerMinute));
      fn.addEnvironment(API_SETTING_ENV.quotaDeploysPerMinute, String(config.quotaDeploysPerMinute));
    }

    const jwt = new HttpJwtAuthorizer('OidcJwt', this.issuerUrl(config), { jwtAudience: [config.audience] });
    this.api = new HttpApi(this, 'HttpApi', {
      apiName: `slipway-${config.stage}`,
      description: 'Slipway platform API',
      defaultAuthorizer: jwt,
      createDefaultStage: false, // created below, with throttling and access logs
      corsPreflight: config.corsOrigins.length > 0 ? cors(config) : undefined,
    });

    // Payload 2.0; one invoke permission per function (not per route) keeps the policies small.
    const integrations: Partial<Record<FunctionName, HttpLambdaIntegration>> = {};
    for (const spec of apiFunctions) {
      integrations[spec.name] = new HttpLambdaIntegration(
        `${pascal(spec.name)}Integration`,
        functionNamed(this.functions, spec.name),
        {
          payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
          scopePermissionToRoute: false,
        },
      );
    }
    const none = new HttpNoneAuthorizer();
    for (const route of routes) {
      const created = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrations[route.function] ?? routeToNonApiFunction(route.function),
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
   * A generated 64-character key, kept only in Secrets Manager and in the listing functions'
   * environment. Losing or rotating it only invalidates cursors in flight: clients start over.
   */
  private cursorKeySecret(config: SlipwayConfig): Secret {
    const secret = new Secret(this, 'CursorKey', {
      secretName: `slipway/${config.stage}/cursor-key`,
      description: 'Slipway: HMAC key that signs list cursors (ADR 14)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotated by putting a new value and deploying with -c cursorKeyVersionId=<its VersionId> (CloudFormation resolves it into the functions); a Lambda rotation could not reach their environment.',
    });
    return secret;
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

/** API Gateway answers preflights itself and adds these to every answer for an allowed origin. */
function cors(config: SlipwayConfig) {
  return {
    allowOrigins: config.corsOrigins,
    allowCredentials: config.corsAllowCredentials,
    allowMethods: CORS.allowMethods.map((method) => CorsHttpMethod[method]),
    allowHeaders: [...CORS.allowHeaders],
    exposeHeaders: [...CORS.exposeHeaders],
    maxAge: Duration.seconds(CORS.maxAgeSeconds),
  };
}

function routeToNonApiFunction(name: FunctionName): never {
  throw new Error(`A route targets ${name}, whose manifest trigger is not 'api'`);
}
