/**
 * Lambda's DynamoDB event source mapping, locally: polls the table's stream with the real
 * DynamoDB Streams client, drops records that do not match the filter (as Lambda's filter criteria
 * do), and hands the rest to `invoke` in batches shaped like Lambda's DynamoDBStreamEvent.
 *
 * Failures, as with ReportBatchItemFailures: a batch item failure is retried from the first failed
 * record; a thrown error retries the whole batch. A shard waits until its batch succeeds, never
 * skipping a record (Lambda's default, MaximumRetryAttempts -1, retries until the record expires):
 * retries back off exponentially up to a cap, and from the 10th attempt on every failure is logged
 * as a blocked shard. Parent shards are read before their children.
 *
 * The last processed sequence number of each shard goes to `checkpointFile` when given, so a
 * restart resumes after it (AFTER_SEQUENCE_NUMBER) instead of replaying the stream.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { localDynamoClient } from './dynamodb.ts';
import { matches, validatePattern } from './eventbridge/pattern.ts';

/** What a stream handler returns with ReportBatchItemFailures; nothing means the whole batch succeeded. */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing, as Lambda allows
export type StreamBatchResult = { batchItemFailures?: { itemIdentifier: string }[] } | void;

export interface StreamPollerOptions {
  dynamoEndpoint: string;
  tableName: string;
  region: string;
  /** A Lambda filter-criteria pattern (the EventBridge pattern language) over each Lambda record. */
  filter?: object;
  /** Records per GetRecords call, so at most per invoke (Lambda's default for DynamoDB: 100). */
  batchSize?: number;
  /** Wait between polls of an idle stream (Lambda polls each shard about four times a second). */
  pollIntervalMs?: number;
  /** Retry delays of a failing batch. */
  backoff?: { initialMs: number; maxMs: number };
  checkpointFile?: string;
  invoke(event: DynamoDBStreamEvent): Promise<StreamBatchResult>;
  log?(line: string): void;
}

export interface StreamPoller {
  /** Stops polling after the batch in hand (an invoke in progress is awaited, not cut). */
  stop(): Promise<void>;
}

interface Shard {
  id: string;
  parentId: string | undefined;
  iterator: string | undefined;
  /** GetRecords answered without a next iterator: the shard is closed and read to its end. */
  ended: boolean;
}

interface Checkpoints {
  streamArn: string;
  shards: Record<string, string>;
}

const SHARD_REFRESH_MS = 10_000;
const LOUD_AFTER_ATTEMPTS = 10;

export function startStreamPoller(options: StreamPollerOptions): StreamPoller {
  if (options.filter) validatePattern(options.filter);
  const stopping = new AbortController();
  const log = options.log ?? (() => {});
  const running = poll(options, stopping.signal, log).catch((error: unknown) => {
    if (!stopping.signal.aborted) log(`streams: poller for ${options.tableName} stopped: ${String(error)}`);
  });
  return {
    stop: async () => {
      stopping.abort();
      await running;
    },
  };
}

async function poll(options: StreamPollerOptions, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  const streams = new DynamoDBStreamsClient({
    endpoint: options.dynamoEndpoint,
    region: options.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  try {
    const streamArn = await latestStreamArn(options, signal, pollIntervalMs);
    const checkpoints = loadCheckpoints(options.checkpointFile, streamArn);
    const reader = shardReader(streams, options, checkpoints, signal, log);
    const shards = new Map<string, Shard>();
    let refreshAt = 0;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (Date.now() >= refreshAt) {
          await addNewShards(streams, streamArn, shards);
          refreshAt = Date.now() + SHARD_REFRESH_MS;
        }
        let received = 0;
        for (const shard of readyShards(shards)) {
          received += await reader(shard);
          if (shard.ended) refreshAt = 0; // its children may be listed now
        }
        failures = 0;
        if (received === 0) await sleep(pollIntervalMs, undefined, { signal });
      } catch (error) {
        if (signal.aborted) return;
        // The stream API itself failed (DynamoDB Local restarting?): keep polling, slower.
        failures++;
        log(`streams: polling ${options.tableName} failed (${String(error)}); retrying`);
        await sleep(Math.min(30_000, pollIntervalMs * 2 ** failures), undefined, { signal });
      }
    }
  } finally {
    streams.destroy();
  }
}

/** The table's stream; waits for the table to exist, as a mapping created with the table would. */
async function latestStreamArn(options: StreamPollerOptions, signal: AbortSignal, intervalMs: number) {
  const dynamo = localDynamoClient(options.dynamoEndpoint);
  try {
    for (;;) {
      try {
        const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: options.tableName }));
        if (Table?.LatestStreamArn) return Table.LatestStreamArn;
        throw new Error(`Table ${options.tableName} has no stream: create it with ensureTable()`);
      } catch (error) {
        if ((error as Error).name !== 'ResourceNotFoundException') throw error;
      }
      await sleep(intervalMs, undefined, { signal });
    }
  } finally {
    dynamo.destroy();
  }
}

async function addNewShards(streams: DynamoDBStreamsClient, streamArn: string, shards: Map<string, Shard>) {
  let exclusiveStartShardId: string | undefined;
  do {
    const { StreamDescription } = await streams.send(
      new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
    );
    for (const shard of StreamDescription?.Shards ?? []) {
      if (shard.ShardId && !shards.has(shard.ShardId)) {
        shards.set(shard.ShardId, {
          id: shard.ShardId,
          parentId: shard.ParentShardId,
          iterator: undefined,
          ended: false,
        });
      }
    }
    exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
  } while (exclusiveStartShardId);
}

/** Open shards whose parent is read to its end (or was trimmed from the stream already). */
function readyShards(shards: Map<string, Shard>): Shard[] {
  return [...shards.values()].filter((shard) => {
    if (shard.ended) return false;
    const parent = shard.parentId === undefined ? undefined : shards.get(shard.parentId);
    return parent === undefined || parent.ended;
  });
}

/** Reads one batch of a shard and delivers it; returns the number of records read. */
function shardReader(
  streams: DynamoDBStreamsClient,
  options: StreamPollerOptions,
  checkpoints: Checkpoints,
  signal: AbortSignal,
  log: (line: string) => void,
) {
  const startIterator = async (shard: Shard): Promise<string | undefined> => {
    const after = checkpoints.shards[shard.id];
    const input = { StreamArn: checkpoints.streamArn, ShardId: shard.id };
    try {
      const out = await streams.send(
        new GetShardIteratorCommand(
          after
            ? { ...input, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
            : { ...input, ShardIteratorType: 'TRIM_HORIZON' },
        ),
      );
      return out.ShardIterator;
    } catch (error) {
      if (!after || (error as Error).name !== 'TrimmedDataAccessException') throw error;
      log(`streams: checkpoint of ${shard.id} is past the stream's retention; reading from the oldest record`);
      delete checkpoints.shards[shard.id];
      return startIterator(shard);
    }
  };

  const checkpoint = (shardId: string, sequenceNumber: string | undefined): void => {
    if (!sequenceNumber) return;
    checkpoints.shards[shardId] = sequenceNumber;
    if (options.checkpointFile) saveCheckpoints(options.checkpointFile, checkpoints);
  };

  const deliver = deliverer(options, checkpoints.streamArn, checkpoint, signal, log);

  return async (shard: Shard): Promise<number> => {
    shard.iterator ??= await startIterator(shard);
    if (shard.iterator === undefined) {
      shard.ended = true;
      return 0;
    }
    let out: { Records?: StreamRecord[]; NextShardIterator?: string };
    try {
      out = await streams.send(
        new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: options.batchSize ?? 100 }),
      );
    } catch (error) {
      // Iterators expire after 15 minutes, and DynamoDB Local trims under an iterator it handed out
      // (seen with many tables on one instance): either way, start again from the checkpoint.
      const name = (error as Error).name;
      if (name === 'ExpiredIteratorException' || name === 'TrimmedDataAccessException') shard.iterator = undefined;
      throw error;
    }
    const records = out.Records ?? [];
    if (records.length > 0) await deliver(shard.id, records);
    shard.iterator = out.NextShardIterator;
    shard.ended = out.NextShardIterator === undefined;
    return records.length;
  };
}

/** Delivers one batch until it succeeds, checkpointing as far as records are done. */
function deliverer(
  options: StreamPollerOptions,
  streamArn: string,
  checkpoint: (shardId: string, sequenceNumber: string | undefined) => void,
  signal: AbortSignal,
  log: (line: string) => void,
) {
  const backoff = options.backoff ?? { initialMs: 500, maxMs: 30_000 };
  return async (shardId: string, records: StreamRecord[]): Promise<void> => {
    let pending = records
      .map((record) => lambdaRecord(record, streamArn, options.region))
      .filter((r) => keep(options.filter, r));
    for (let attempt = 1; pending.length > 0; attempt++) {
      const failedAt = await invokeOnce(options, pending, log);
      if (failedAt === undefined) break;
      checkpoint(shardId, pending[failedAt - 1]?.dynamodb?.SequenceNumber);
      pending = pending.slice(failedAt);
      const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1));
      const blocked = attempt >= LOUD_AFTER_ATTEMPTS ? ` ${shardId} is blocked until it succeeds;` : '';
      log(
        `streams: batch failed (attempt ${attempt}) from ${pending[0]?.dynamodb?.SequenceNumber};${blocked} retry in ${delay} ms`,
      );
      await sleep(delay, undefined, { signal });
    }
    checkpoint(shardId, records.at(-1)?.dynamodb?.SequenceNumber);
  };
}

const keep = (filter: object | undefined, record: DynamoDBRecord): boolean => !filter || matches(filter, record);

/** Index of the first record to retry, or undefined when the whole batch succeeded. */
async function invokeOnce(
  options: StreamPollerOptions,
  records: DynamoDBRecord[],
  log: (line: string) => void,
): Promise<number | undefined> {
  let result: StreamBatchResult;
  try {
    result = await options.invoke({ Records: records });
  } catch (error) {
    log(`streams: invoke failed: ${error instanceof Error ? error.message : String(error)}`);
    return 0;
  }
  const failures = result?.batchItemFailures ?? [];
  if (failures.length === 0) return undefined;
  const positions = failures.map((f) => records.findIndex((r) => r.dynamodb?.SequenceNumber === f.itemIdentifier));
  // An identifier that names no record of the batch fails the whole batch, as on Lambda.
  return positions.includes(-1) ? 0 : Math.min(...positions);
}

/** A stream record the way Lambda hands it over (times in epoch seconds, the mapping's region). */
function lambdaRecord(record: StreamRecord, streamArn: string, region: string): DynamoDBRecord {
  const change = record.dynamodb ?? {};
  const created = change.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(created ? { ApproximateCreationDateTime: Math.floor(created.getTime() / 1000) } : {}),
      Keys: change.Keys,
      ...(change.NewImage ? { NewImage: withEmptyMaps(change.NewImage) } : {}),
      ...(change.OldImage ? { OldImage: withEmptyMaps(change.OldImage) } : {}),
      SequenceNumber: change.SequenceNumber,
      SizeBytes: change.SizeBytes,
      StreamViewType: change.StreamViewType,
    },
  } as DynamoDBRecord;
}

/**
 * The Streams client reads an empty map attribute (`{"M": {}}`) back as `{}` (seen with
 * client-dynamodb-streams 3.1141 on DynamoDB Local); Lambda hands over `{"M": {}}`, and
 * unmarshall() throws on `{}`. An attribute value always has a type, so `{}` can only be that.
 */
function withEmptyMaps(image: Record<string, unknown>): Record<string, unknown> {
  const repair = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map(repair);
    const entries = Object.entries(value);
    if (entries.length === 0) return { M: {} };
    const [type, inner] = entries[0] as [string, unknown];
    if (type === 'M') return { M: withEmptyMaps(inner as Record<string, unknown>) };
    if (type === 'L') return { L: (inner as unknown[]).map(repair) };
    return value;
  };
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, repair(value)]));
}

function loadCheckpoints(file: string | undefined, streamArn: string): Checkpoints {
  const fresh: Checkpoints = { streamArn, shards: {} };
  if (!file || !existsSync(file)) return fresh;
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Checkpoints;
  // Another stream (the table was deleted and created again): its sequence numbers mean nothing here.
  return saved.streamArn === streamArn ? saved : fresh;
}

/** Write then rename: a crash mid-write leaves the previous checkpoint, never half a file. */
function saveCheckpoints(file: string, checkpoints: Checkpoints): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(checkpoints, null, 2)}\n`);
  renameSync(temporary, file);
}
