/**
 * Section 2: what our code adds to a warm invocation. The projects handler is called in-process
 * with a hand-built API Gateway v2 event for `GET /api/v1/projects/{id}`; the baseline is the same
 * DynamoDB work done bare through the SDK (one BatchGetItem of the user and the project, as
 * readWithAccess does). The difference is routing, middy, Powertools, RBAC and the response.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { buildApiEvent } from '../../infra/local/api-event.ts';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { stringifyClaims } from '../../infra/local/jwt-authorizer.ts';
import { ms, percentile, table, yesNo } from './stats.ts';

/** The DynamoDB work of `GET /projects/{id}` made bare: the same two keys in one BatchGetItem. */
export function bareProjectRead(tableName: string, projectId: string) {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const command = new BatchGetCommand({
    RequestItems: {
      [tableName]: {
        Keys: [
          { PK: 'USER#bench', SK: 'USER' },
          { PK: `PROJECT#${projectId}`, SK: 'PROJECT' },
        ],
        ConsistentRead: true,
      },
    },
  });
  return { client, command };
}

export const TARGET_P50_MS = 0.5;
export const TARGET_P99_MS = 2;

export interface Latency {
  p50: number;
  p99: number;
}

export interface OverheadReport {
  warmup: number;
  calls: number;
  handler: Latency;
  bare: Latency;
  overhead: Latency;
}

export async function measureOverhead(
  cloud: LocalCloud,
  projectId: string,
  { warmup = 200, calls = 2000 } = {},
): Promise<OverheadReport> {
  // Imported only now: handlers read their configuration (TABLE_NAME, endpoint) at module scope,
  // which startLocalCloud has set by the time we get here.
  const { handler } = await import('../../functions/projects/handler.ts');
  // Built like shared/store/dynamo.ts builds the handler's client, so both sides pay the same SDK costs.
  const { client: bare, command: batchGet } = bareProjectRead(cloud.tableName, projectId);
  const event = projectEvent(projectId, await cloud.mintToken({ sub: 'bench', groups: ['platform-admins'] }));
  const context = lambdaContext();

  const callHandler = async () => {
    const result = await handler(event, context);
    // Timing an error path would flatter us: every call must be the real 200.
    if (result.statusCode !== 200) throw new Error(`Handler answered ${result.statusCode}: ${result.body}`);
  };
  const callBare = async () => {
    const out = await bare.send(batchGet);
    if (out.Responses?.[cloud.tableName]?.length !== 2) throw new Error('Bare BatchGet did not find both items');
  };

  try {
    for (let i = 0; i < warmup; i++) {
      await callHandler();
      await callBare();
    }
    // Alternating the two keeps drift (JIT, GC, DynamoDB Local's JVM, other load on the machine)
    // from landing on one side only.
    const handlerMs: number[] = [];
    const bareMs: number[] = [];
    for (let i = 0; i < calls; i++) {
      handlerMs.push(await timed(callHandler));
      bareMs.push(await timed(callBare));
    }
    const handlerLatency = { p50: percentile(handlerMs, 50), p99: percentile(handlerMs, 99) };
    const bareLatency = { p50: percentile(bareMs, 50), p99: percentile(bareMs, 99) };
    return {
      warmup,
      calls,
      handler: handlerLatency,
      bare: bareLatency,
      overhead: { p50: handlerLatency.p50 - bareLatency.p50, p99: handlerLatency.p99 - bareLatency.p99 },
    };
  } finally {
    bare.destroy();
  }
}

async function timed(call: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await call();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** What API Gateway (HTTP API, payload 2.0, JWT authorizer) sends for this route: built as the local gateway builds it. */
function projectEvent(id: string, token: string): APIGatewayProxyEventV2WithJWTAuthorizer {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  return buildApiEvent(
    {
      method: 'GET',
      target: `/api/v1/projects/${id}`,
      httpVersion: '1.1',
      headers: {
        accept: ['application/json'],
        authorization: [`Bearer ${token}`],
        host: ['localhost'],
        'user-agent': ['slipway-bench'],
      },
      body: Buffer.alloc(0),
      sourceIp: '127.0.0.1',
      port: 3000,
    },
    {
      routeKey: 'GET /api/v1/projects/{id}',
      pathParameters: { id },
      requestId: 'bench-request',
      time: new Date(),
      jwt: { claims: stringifyClaims(payload), scopes: null },
    },
  ) as APIGatewayProxyEventV2WithJWTAuthorizer;
}

function lambdaContext(): Context {
  const fail = () => {
    throw new Error('Callback-style completion is not used by API handlers');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'slipway-projects',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:slipway-projects',
    memoryLimitInMB: '512',
    awsRequestId: '00000000-0000-4000-8000-000000000000',
    logGroupName: '/aws/lambda/slipway-projects',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 10_000,
    done: fail,
    fail,
    succeed: fail,
  };
}

export function overheadMarkdown(report: OverheadReport): string {
  const { handler, bare, overhead } = report;
  return [
    '## Warm handler overhead (in-process)',
    '',
    `\`GET /api/v1/projects/{id}\` through the projects handler vs the same BatchGetItem bare through the SDK, against DynamoDB Local; ${report.warmup} warm-up calls each, then ${report.calls} timed calls each, alternating. Target: overhead < ${TARGET_P50_MS} ms p50, < ${TARGET_P99_MS} ms p99.`,
    '',
    table(
      ['', 'p50', 'p99', 'target met'],
      [
        ['handler', ms(handler.p50, 3), ms(handler.p99, 3), ''],
        ['bare SDK BatchGet', ms(bare.p50, 3), ms(bare.p99, 3), ''],
        [
          '**overhead** (handler - bare)',
          ms(overhead.p50, 3),
          ms(overhead.p99, 3),
          `p50 ${yesNo(overhead.p50 < TARGET_P50_MS)}, p99 ${yesNo(overhead.p99 < TARGET_P99_MS)}`,
        ],
      ],
    ),
  ].join('\n');
}
