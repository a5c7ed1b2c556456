/**
 * The whole local cloud in one call: DynamoDB Local with the platform's table, the environment
 * the functions read, the dev OIDC issuer and the API gateway in front of the manifest's
 * functions. Used by `npm start` (start.ts) and by the integration tests (test/integration).
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV } from '../../shared/config.ts';
import { apiSettingsFromEnv } from '../api-settings.ts';
import { functions, routes } from '../manifest.ts';
import type { CorsOptions } from './cors.ts';
import { loadCursorKey } from './cursor-key.ts';
import { loadSigningKey, type TokenRequest } from './dev-issuer.ts';
import { type DynamoDbLocal, ensureTable, localDynamoClient, startDynamoDbLocal } from './dynamodb.ts';
import { type GatewayRoute, startGateway } from './gateway.ts';
import type { FunctionLike } from './lambda-runtime.ts';
import { type LocalServices, type ServicesOptions, startServices } from './services.ts';
import type { Throttle } from './throttle.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface LocalCloudOptions {
  /** Gateway port; 0 picks a free one. Default 3000. */
  port?: number;
  /**
   * Keeps the database (`<dataDir>/dynamodb`), the issuer key (`<dataDir>/dev-issuer`) and the
   * cursor key (`<dataDir>/cursor-key`). Default `.data`.
   */
  dataDir?: string;
  /** Nothing on disk: a throwaway database and signing key. */
  inMemory?: boolean;
  tableName?: string;
  /** DynamoDB Local's port; a free one when omitted. */
  dynamoPort?: number;
  /** Use this already running DynamoDB (tests share one) instead of starting DynamoDB Local. */
  dynamoEndpoint?: string;
  /** No access log lines. */
  quiet?: boolean;
  /** Routes and functions beyond the manifest's (test fixtures). */
  extraRoutes?: readonly GatewayRoute[];
  extraFunctions?: readonly FunctionLike[];
  /** API Gateway's integration timeout (default 30 s); tests shorten it. */
  integrationTimeoutMs?: number;
  /** Shorter workflow waits, bus backoff, simulated cluster pace, more loopback clusters, chat channels (see services.ts). */
  workflowOverrides?: ServicesOptions['workflowOverrides'];
  busBackoff?: ServicesOptions['busBackoff'];
  kubernetes?: ServicesOptions['kubernetes'];
  clusterLoopback?: ServicesOptions['clusterLoopback'];
  chat?: ServicesOptions['chat'];
  chatApps?: ServicesOptions['chatApps'];
  awsPort?: ServicesOptions['awsPort'];
  schedules?: ServicesOptions['schedules'];
  /** The local Scheduler's retry backoff and where its clock starts (tests: a restart at a chosen instant). */
  schedulerBackoff?: ServicesOptions['schedulerBackoff'];
  schedulerNow?: ServicesOptions['schedulerNow'];
  /** Environment lock lease; tests of a crashed holder shorten it. */
  lockLeaseSeconds?: number;
  /**
   * Deliver change events (table stream → publisher → bus → notifier, auditor). Default true; a
   * test that counts one request's own DynamoDB calls turns it off, as the consumers share the process.
   */
  deliverEvents?: boolean;
  /**
   * Stage throttling, CORS and the per-caller quotas. Each defaults to its SLIPWAY_* environment
   * variable, then to the AWS default (infra/api-settings.ts); tests and the bench raise the limits.
   */
  throttle?: Throttle;
  cors?: CorsOptions;
  quotas?: Quotas;
}

export interface Quotas {
  writesPerMinute: number;
  deploysPerMinute: number;
}

export interface LocalCloud {
  /** `http://localhost:<port>` */
  url: string;
  /** The dev issuer URL, `<url>/dev-issuer`. */
  issuer: string;
  dynamoEndpoint: string;
  tableName: string;
  /** Absolute data folder, or undefined in memory. */
  dataDir: string | undefined;
  /** Step Functions, EventBridge, Secrets Manager, the stream consumer and the simulated cluster. */
  services: LocalServices;
  mintToken(request: TokenRequest): Promise<string>;
  /** Stops the gateway and the DynamoDB Local this call started. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const tableName = options.tableName ?? 'slipway';
  const settings = apiSettingsFromEnv(); // a bad SLIPWAY_* setting stops the start here, as it stops a synth
  const dataDir = options.inMemory ? undefined : resolve(options.dataDir ?? '.data');
  const dynamo: DynamoDbLocal | undefined = options.dynamoEndpoint
    ? undefined
    : await startDynamoDbLocal({
        ...(options.dynamoPort === undefined ? {} : { port: options.dynamoPort }),
        ...(dataDir === undefined ? {} : { dataDir: join(dataDir, 'dynamodb') }),
      });
  const dynamoEndpoint = options.dynamoEndpoint ?? (dynamo as DynamoDbLocal).endpoint;
  let services: LocalServices | undefined;

  try {
    const client = localDynamoClient(dynamoEndpoint);
    try {
      await ensureTable(client, tableName);
    } finally {
      client.destroy();
    }
    // Handlers read their configuration at module scope: this must precede their first import,
    // which the gateway does on the first request to each function.
    setFunctionEnvironment(tableName, dynamoEndpoint, {
      writesPerMinute: settings.quotaWritesPerMinute,
      deploysPerMinute: settings.quotaDeploysPerMinute,
      ...options.quotas,
    });
    process.env[ENV.cursorKey] ??= await loadCursorKey(dataDir);
    services = await startServices({
      rootDir: REPO_ROOT,
      dataDir,
      dynamoEndpoint,
      tableName,
      extraFunctions: options.extraFunctions ?? [],
      ...(options.workflowOverrides ? { workflowOverrides: options.workflowOverrides } : {}),
      ...(options.busBackoff ? { busBackoff: options.busBackoff } : {}),
      ...(options.kubernetes ? { kubernetes: options.kubernetes } : {}),
      ...(options.clusterLoopback ? { clusterLoopback: options.clusterLoopback } : {}),
      ...(options.chat ? { chat: options.chat } : {}),
      ...(options.chatApps ? { chatApps: options.chatApps } : {}),
      ...(options.awsPort === undefined ? {} : { awsPort: options.awsPort }),
      ...(options.schedules === undefined ? {} : { schedules: options.schedules }),
      ...(options.schedulerBackoff ? { schedulerBackoff: options.schedulerBackoff } : {}),
      ...(options.schedulerNow ? { schedulerNow: options.schedulerNow } : {}),
      ...(options.quiet ? {} : { log: (line: string) => console.log(line), printMetrics: true }),
    });
    Object.assign(process.env, services.environment);
    if (options.lockLeaseSeconds !== undefined) process.env[ENV.lockLeaseSeconds] = String(options.lockLeaseSeconds);
    services.startScheduler();
    if (options.deliverEvents !== false) services.startStreams();

    const gateway = await startGateway({
      routes: [...routes, ...(options.extraRoutes ?? [])],
      functions: [...functions, ...(options.extraFunctions ?? [])],
      rootDir: REPO_ROOT,
      port: options.port ?? 3000,
      signingKey: await loadSigningKey(dataDir === undefined ? undefined : join(dataDir, 'dev-issuer')),
      ...(options.integrationTimeoutMs === undefined ? {} : { integrationTimeoutMs: options.integrationTimeoutMs }),
      ...(options.quiet === undefined ? {} : { quiet: options.quiet }),
      throttle: options.throttle ?? { rateLimit: settings.throttleRateLimit, burstLimit: settings.throttleBurstLimit },
      ...corsOf(options.cors, settings),
    });

    // Chat messages link deployments and approvals on this gateway.
    process.env[ENV.publicUrl] ??= gateway.url;

    let stopping: Promise<void> | undefined;
    return {
      url: gateway.url,
      issuer: gateway.issuer.issuer,
      dynamoEndpoint,
      tableName,
      dataDir,
      services,
      mintToken: gateway.issuer.mintToken,
      stop: () => {
        stopping ??= gateway
          .close()
          .finally(() => services?.stop())
          .finally(() => dynamo?.stop());
        return stopping;
      },
    };
  } catch (error) {
    await services?.stop();
    await dynamo?.stop();
    throw error;
  }
}

const corsOf = (cors: CorsOptions | undefined, settings: ReturnType<typeof apiSettingsFromEnv>) => {
  if (cors) return { cors };
  const { corsOrigins: origins, corsAllowCredentials: allowCredentials } = settings;
  return origins.length > 0 ? { cors: { origins, allowCredentials } } : {};
};

/** What infra/aws sets on each function, pointed at the local services. Credentials only if none are set. */
function setFunctionEnvironment(tableName: string, dynamoEndpoint: string, quotas: Quotas): void {
  const env = process.env;
  env[ENV.quotaWritesPerMinute] = String(quotas.writesPerMinute);
  env[ENV.quotaDeploysPerMinute] = String(quotas.deploysPerMinute);
  env[ENV.tableName] = tableName;
  env.AWS_ENDPOINT_URL_DYNAMODB = dynamoEndpoint;
  env.AWS_REGION ??= 'us-east-1';
  if (!env.AWS_ACCESS_KEY_ID) {
    // DynamoDB Local accepts any key; without one the SDK would look for a profile or SSO session.
    env.AWS_ACCESS_KEY_ID = 'local';
    env.AWS_SECRET_ACCESS_KEY = 'local';
  }
  env[ENV.adminGroups] ??= 'platform-admins';
  env[ENV.serviceName] = 'slipway';
}
