/**
 * Section 2: what our code adds to a warm invocation. The projects handler is called in-process
 * with hand-built API Gateway v2 events for `GET /api/v1/projects/{id}` and `POST /api/v1/projects`;
 * the baseline is the same DynamoDB work done bare through the SDK (for the read one BatchGetItem
 * of the user and the project, as signInAndRead does; for the create the write quota's UpdateItem,
 * that BatchGetItem and the create's TransactWriteItems). The difference is routing, middy,
 * Powertools, validation, RBAC, the quota bookkeeping and the response.
 */

import { closeSync, openSync, writeSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { buildApiEvent } from '../../infra/local/api-event.ts';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { stringifyClaims } from '../../infra/local/jwt-authorizer.ts';
import { publishMetrics } from '../../shared/telemetry/emf.ts';
import { recordingMetrics, recordMetric } from '../../shared/telemetry/metrics.ts';
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

export interface Comparison {
  warmup: number;
  calls: number;
  handler: Latency;
  bare: Latency;
  overhead: Latency;
}

export interface OverheadReport extends Comparison {
  /** `POST /api/v1/projects`: the write quota's counter, the grants read and the create's transaction. */
  write: Comparison;
}

export async function measureOverhead(
  cloud: LocalCloud,
  projectId: string,
  { warmup = 200, calls = 2000, writeWarmup = 100, writeCalls = 1000 } = {},
): Promise<OverheadReport> {
  // Imported only now: handlers read their configuration (TABLE_NAME, endpoint) at module scope,
  // which startLocalCloud has set by the time we get here.
  const { handler } = await import('../../functions/projects/handler.ts');
  benchToken = await cloud.mintToken({ sub: 'bench', groups: ['platform-admins'] });
  // Built like shared/store/dynamo.ts builds the handler's client, so both sides pay the same SDK costs.
  const { client: bare, command: batchGet } = bareProjectRead(cloud.tableName, projectId);
  const context = lambdaContext();
  const expectStatus = (status: number) => (result: { statusCode?: number; body?: string }) => {
    // Timing an error path would flatter us: every call must be the real answer.
    if (result.statusCode !== status) throw new Error(`Handler answered ${result.statusCode}: ${result.body}`);
  };

  try {
    const readEvent = apiEvent('GET', `/api/v1/projects/${projectId}`, 'GET /api/v1/projects/{id}', { id: projectId });
    const read = await compare(
      async () => expectStatus(200)(await handler(readEvent, context)),
      async () => {
        const out = await bare.send(batchGet);
        if (out.Responses?.[cloud.tableName]?.length !== 2) throw new Error('Bare BatchGet did not find both items');
      },
      warmup,
      calls,
    );

    let n = 0;
    const write = await compare(
      async () => {
        const body = JSON.stringify({ name: `overhead-${++n}` });
        expectStatus(201)(
          await handler(apiEvent('POST', '/api/v1/projects', 'POST /api/v1/projects', {}, body), context),
        );
      },
      bareProjectCreate(bare, cloud.tableName),
      writeWarmup,
      writeCalls,
    );
    return { ...read, write };
  } finally {
    bare.destroy();
  }
}

/** Times both calls alternately, after warming both up; the overhead is the difference of their percentiles. */
async function compare(
  callHandler: () => Promise<void>,
  callBare: () => Promise<void>,
  warmup: number,
  calls: number,
): Promise<Comparison> {
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
  const handler = { p50: percentile(handlerMs, 50), p99: percentile(handlerMs, 99) };
  const bare = { p50: percentile(bareMs, 50), p99: percentile(bareMs, 99) };
  return {
    warmup,
    calls,
    handler,
    bare,
    overhead: { p50: handler.p50 - bare.p50, p99: handler.p99 - bare.p99 },
  };
}

/**
 * The DynamoDB work of `POST /projects` made bare: the write quota's conditional ADD, the user read,
 * and one transaction of three conditional puts (name claim, project, event). Items are keyed
 * `BENCH…`, so the table stream's consumer ignores them as it ignores everything but the outbox.
 */
function bareProjectCreate(client: DynamoDBDocumentClient, tableName: string) {
  let n = 0;
  const window = Math.floor(Date.now() / 60_000) * 60;
  return async () => {
    const id = `${process.pid}-${++n}`;
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { PK: 'BENCH#quota', SK: `WINDOW#${window}` },
        UpdateExpression: 'ADD #count :one SET expiresAt = :expiresAt',
        ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':one': 1, ':limit': 1_000_000, ':expiresAt': window + 120 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    await client.send(
      new BatchGetCommand({
        RequestItems: { [tableName]: { Keys: [{ PK: 'USER#bench', SK: 'USER' }], ConsistentRead: true } },
      }),
    );
    // The same items as the handler writes, indexes included (DynamoDB maintains GSI1 for the project).
    const put = (Item: Record<string, unknown>) => ({
      Put: { TableName: tableName, Item, ConditionExpression: 'attribute_not_exists(PK)' },
    });
    const now = new Date().toISOString();
    const project = { id, name: `bare-${id}`, version: 1, created_at: now, updated_at: now, created_by: 'bench' };
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          put({ PK: `BENCH_NAME#bare-${id}`, SK: 'NAME', owner: id }),
          put({
            PK: `BENCH#${id}`,
            SK: 'PROJECT',
            GSI1PK: 'KIND#bench',
            GSI1SK: `bare-${id}#${id}`,
            _apps: 0,
            ...project,
          }),
          put({
            PK: `BENCH_EVENT#${id}`,
            SK: 'EVENT',
            event: {
              id,
              source: 'slipway.projects',
              type: 'Project Created',
              time: now,
              actor: 'bench',
              data: project,
            },
            expiresAt: Math.floor(Date.now() / 1000) + 86_400,
          }),
        ],
      }),
    );
  };
}

async function timed(call: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await call();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** What API Gateway (HTTP API, payload 2.0, JWT authorizer) sends for this route: built as the local gateway builds it. */
/** The signed-in admin every bench request comes from: the functions read groups from the token itself (ADR 17). */
let benchToken = '';

function apiEvent(
  method: string,
  target: string,
  routeKey: string,
  pathParameters: Record<string, string>,
  body?: string,
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const claims = JSON.parse(Buffer.from(benchToken.split('.')[1] ?? '', 'base64url').toString('utf8'));
  return buildApiEvent(
    {
      method,
      target,
      httpVersion: '1.1',
      headers: {
        accept: ['application/json'],
        authorization: [`Bearer ${benchToken}`],
        host: ['localhost'],
        'user-agent': ['slipway-bench'],
        ...(body ? { 'content-type': ['application/json'] } : {}),
      },
      body: Buffer.from(body ?? ''),
      sourceIp: '127.0.0.1',
      port: 3000,
    },
    {
      routeKey,
      pathParameters,
      requestId: 'bench-request',
      time: new Date(),
      jwt: { claims: stringifyClaims(claims), scopes: null },
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
  const targetMet = (overhead: Latency) =>
    `p50 ${yesNo(overhead.p50 < TARGET_P50_MS)}, p99 ${yesNo(overhead.p99 < TARGET_P99_MS)}`;
  const rows = (label: string, bareLabel: string, c: Comparison) => [
    [`${label}: handler`, ms(c.handler.p50, 3), ms(c.handler.p99, 3), ''],
    [`${label}: ${bareLabel}`, ms(c.bare.p50, 3), ms(c.bare.p99, 3), ''],
    [`**${label}: overhead** (handler - bare)`, ms(c.overhead.p50, 3), ms(c.overhead.p99, 3), targetMet(c.overhead)],
  ];
  const { write } = report;
  return [
    '## Warm handler overhead (in-process)',
    '',
    `\`GET /api/v1/projects/{id}\` through the projects handler vs the same BatchGetItem bare through the SDK, against DynamoDB Local; ${report.warmup} warm-up calls each, then ${report.calls} timed calls each, alternating. \`POST /api/v1/projects\` (a create: the write quota's counter, the grants read, one transaction of three puts) vs the same three requests bare; ${write.warmup} warm-up calls each, then ${write.calls} timed, alternating. Target: overhead < ${TARGET_P50_MS} ms p50, < ${TARGET_P99_MS} ms p99.`,
    '',
    table(
      ['', 'p50', 'p99', 'target met'],
      [
        ...rows('read', 'bare SDK BatchGet', report),
        ...rows('write', 'bare SDK Update + BatchGet + TransactWrite', write),
      ],
    ),
  ].join('\n');
}

export interface MetricsOverheadReport {
  calls: number;
  /** An invocation that records nothing: only the record's scope (no line is written). */
  silent: Latency;
  /** An invocation that records a deployment's end (3 points, 2 EMF lines written). */
  finished: Latency;
}

/**
 * What metrics add to a warm invocation (ADR 27), in-process and without DynamoDB: the same empty
 * work called bare and inside the wrapper's metric record, once recording nothing and once recording
 * what a finished deployment does. EMF lines go to /dev/null through a real write, as stdout is a
 * pipe on Lambda, so their serialization and the syscall are counted.
 */
export async function measureMetricsOverhead({ warmup = 2000, calls = 20_000 } = {}): Promise<MetricsOverheadReport> {
  const publish = (recorded: Parameters<typeof publishMetrics>[0]) => publishMetrics(recorded, 'slipway-bench');
  const nothing = async () => 'done';
  const finish = async () => {
    recordMetric('DeploymentsFinished', 1, { Outcome: 'succeeded', Tier: 'production' });
    recordMetric('DeployDuration', 1234, { Tier: 'production' });
    recordMetric('DeployApplyTime', 567, { Tier: 'production' });
    return 'done';
  };
  const devNull = openSync('/dev/null', 'w');
  const stdoutWrite = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    if (typeof chunk === 'string') writeSync(devNull, chunk);
    else writeSync(devNull, chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    const silent = await compare(
      async () => void (await recordingMetrics(nothing, publish)),
      async () => void (await nothing()),
      warmup,
      calls,
    );
    const finished = await compare(
      async () => void (await recordingMetrics(finish, publish)),
      async () => void (await nothing()),
      warmup,
      calls,
    );
    return { calls, silent: silent.overhead, finished: finished.overhead };
  } finally {
    process.stdout.write = stdoutWrite;
    closeSync(devNull);
  }
}

export function metricsOverheadMarkdown(report: MetricsOverheadReport): string {
  const row = (label: string, l: Latency) => [label, ms(l.p50, 4), ms(l.p99, 4), yesNo(l.p50 < TARGET_P50_MS)];
  return [
    '### What metrics add to a warm invocation',
    '',
    `The wrapper's metric record around an empty handler vs the handler bare, ${report.calls} timed calls each, alternating (in-process, no I/O but the EMF lines written to /dev/null). Target: < ${TARGET_P50_MS} ms p50.`,
    '',
    table(
      ['invocation', 'overhead p50', 'overhead p99', `< ${TARGET_P50_MS} ms p50`],
      [
        row('records nothing (no line written)', report.silent),
        row("records a deployment's end (3 points, 2 EMF lines)", report.finished),
      ],
    ),
  ].join('\n');
}
