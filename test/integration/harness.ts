/**
 * One local cloud per integration test file, started in `beforeAll`:
 *
 *   let cloud: TestCloud;
 *   beforeAll(async () => { cloud = await startTestCloud(); });
 *   afterAll(() => cloud?.stop());
 *
 * The gateway runs in this worker (so tests can reach into handler modules, e.g. to count SDK
 * calls) against the run's shared DynamoDB Local (global-setup.ts), with a table of its own:
 * files are isolated and run in parallel. Every file runs in its own worker (vitest's default
 * `isolate: true`), whose process.env the cloud sets for the handlers of that file.
 */
import { randomUUID } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import { inject } from 'vitest';
import { type LocalCloud, type LocalCloudOptions, type Quotas, startLocalCloud } from '../../infra/local/cloud.ts';
import { createDevIssuer, loadSigningKey, type TokenRequest } from '../../infra/local/dev-issuer.ts';
import type { GatewayRoute } from '../../infra/local/gateway.ts';
import type { FunctionLike } from '../../infra/local/lambda-runtime.ts';
import type { Throttle } from '../../infra/local/throttle.ts';
import { client } from './client.ts';

export interface TestCloudOptions {
  /** Routes and functions beyond the manifest's (fixtures under test/integration/fixtures). */
  routes?: readonly GatewayRoute[];
  functions?: readonly FunctionLike[];
  /** API Gateway's integration timeout; default 30 s as on AWS. */
  integrationTimeoutMs?: number;
  /** Print the gateway's access log lines (off by default: test output stays readable). */
  verbose?: boolean;
  /** Delivery knobs: shorter workflow waits, bus backoff, the simulated cluster's pace, chat, lock lease. */
  delivery?: Pick<
    LocalCloudOptions,
    | 'workflowOverrides'
    | 'busBackoff'
    | 'kubernetes'
    | 'clusterLoopback'
    | 'chat'
    | 'chatApps'
    | 'lockLeaseSeconds'
    | 'deliverEvents'
    | 'schedulerBackoff'
    | 'schedulerNow'
  >;
  /**
   * Stage throttling and quotas. Tests fire far more requests than a person would, so both are
   * raised out of the way unless a test of the limits sets its own.
   */
  limits?: { throttle?: Throttle; quotas?: Partial<Quotas> };
  cors?: LocalCloudOptions['cors'];
}

const OUT_OF_THE_WAY = 1_000_000;

export interface TestCloud extends LocalCloud {
  /** A token exactly like mintToken's, but signed by a key the issuer never published (same kid). */
  mintForeignToken(request: TokenRequest): Promise<string>;
  /** A small fetch client for this cloud (test/integration/client.ts), authenticated when given a token. */
  api(token?: string): ReturnType<typeof client>;
}

export async function startTestCloud(options: TestCloudOptions = {}): Promise<TestCloud> {
  const dynamoEndpoint = inject('dynamoEndpoint');
  if (!dynamoEndpoint) {
    throw new Error('No DynamoDB endpoint: run integration tests with globalSetup test/integration/global-setup.ts');
  }
  // Handlers log through Powertools; keep routine lines out of test output unless asked for.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

  const cloud = await startLocalCloud({
    port: 0,
    inMemory: true,
    dynamoEndpoint,
    tableName: `slipway-test-${randomUUID().slice(0, 8)}`,
    quiet: !options.verbose,
    extraRoutes: options.routes ?? [],
    extraFunctions: options.functions ?? [],
    // A test fires schedules itself (services.tick): a timer firing mid-test would be a race.
    schedules: false,
    ...options.delivery,
    throttle: options.limits?.throttle ?? { rateLimit: OUT_OF_THE_WAY, burstLimit: OUT_OF_THE_WAY },
    quotas: { writesPerMinute: OUT_OF_THE_WAY, deploysPerMinute: OUT_OF_THE_WAY, ...options.limits?.quotas },
    ...(options.cors ? { cors: options.cors } : {}),
    ...(options.integrationTimeoutMs === undefined ? {} : { integrationTimeoutMs: options.integrationTimeoutMs }),
  });

  // The kid comes from the issuer's published JWKS, read as any OIDC client would.
  const jwks = (await (await fetch(`${cloud.issuer}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const kid = jwks.keys[0]?.kid ?? '';
  const foreign = createDevIssuer({ ...(await loadSigningKey()), kid }, cloud.issuer);

  return { ...cloud, mintForeignToken: foreign.mintToken, api: (token) => client(cloud.url, token) };
}
