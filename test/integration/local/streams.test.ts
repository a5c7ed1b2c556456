import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAwsEndpoint } from '../../../infra/local/aws-endpoint.ts';
import { ensureTable, localDynamoClient } from '../../../infra/local/dynamodb.ts';
import { createLocalEventBus } from '../../../infra/local/eventbridge/bus.ts';
import { createLambdaRuntime } from '../../../infra/local/lambda-runtime.ts';
import { type StreamBatchResult, type StreamPoller, startStreamPoller } from '../../../infra/local/streams.ts';
import { streamConsumer } from '../../../infra/manifest.ts';
import { type BusEvent, type ChangeEvent, changeOf } from '../../../shared/events/envelope.ts';
import { eventually } from '../client.ts';

const REGION = 'us-east-1';
const dynamoEndpoint = inject('dynamoEndpoint');

// shared/store creates its client at import: the environment must be set first.
process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamoEndpoint;
process.env.AWS_REGION ??= REGION;
process.env.AWS_ACCESS_KEY_ID ||= 'local';
process.env.AWS_SECRET_ACCESS_KEY ||= 'local';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
const { commit } = await import('../../../shared/store/table.ts');
const { recordChange } = await import('../../../shared/events/outbox.ts');

const dynamo = localDynamoClient(dynamoEndpoint);
const pollers: StreamPoller[] = [];
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'slipway-streams-'));
});
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
});
afterAll(() => {
  dynamo.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

/** A table of this test's own (the store writes to TABLE_NAME). */
async function freshTable(): Promise<string> {
  const tableName = `slipway-streams-${randomUUID().slice(0, 8)}`;
  await ensureTable(dynamo, tableName);
  process.env.TABLE_NAME = tableName;
  return tableName;
}

/** Commits one change event through the outbox, as a route does; returns it. */
async function recordEvent(subject: string): Promise<ChangeEvent> {
  const now = new Date().toISOString();
  const project = { id: subject, name: 'shop', version: 1, created_at: now, updated_at: now, created_by: 'alice' };
  const write = recordChange({ sub: 'alice' }, { type: 'Project Created', subject, data: project });
  await commit([write]);
  if (!('put' in write)) throw new Error('recordChange is a put');
  return write.put.event as ChangeEvent;
}

/** A poller whose invoke records every batch and answers with `answer` (default: success). */
function poll(
  tableName: string,
  answer: (event: DynamoDBStreamEvent, call: number) => StreamBatchResult = () => undefined,
  extra: { checkpointFile?: string } = {},
) {
  const batches: DynamoDBRecord[][] = [];
  pollers.push(
    startStreamPoller({
      dynamoEndpoint,
      tableName,
      region: REGION,
      filter: streamConsumer.filter,
      pollIntervalMs: 20,
      backoff: { initialMs: 10, maxMs: 50 },
      ...extra,
      invoke: async (event) => {
        batches.push(event.Records);
        return answer(event, batches.length);
      },
    }),
  );
  return batches;
}

const subjectOf = (record: DynamoDBRecord): string =>
  (unmarshall(record.dynamodb?.NewImage as never).event as ChangeEvent).subject;
const subjects = (batches: DynamoDBRecord[][]) => batches.map((batch) => batch.map(subjectOf));

describe('DynamoDB stream poller', () => {
  it('hands each new outbox item to invoke once, in the Lambda record shape, and filters out other writes', async () => {
    const tableName = await freshTable();
    const batches = poll(tableName);
    const first = await recordEvent('project/a');
    await commit([{ put: { PK: 'PROJECT#prj_1', SK: 'META', name: 'shop' }, onFail: () => new Error() as never }]);
    await recordEvent('project/b');
    // A change to an outbox item is a MODIFY: not for the publisher.
    await commit([
      {
        update: { PK: `OUTBOX#${first.id}`, SK: 'EVENT' },
        set: 'SET touched = :t',
        values: { ':t': true },
        onFail: () => new Error() as never,
      },
    ]);
    await recordEvent('project/c');

    await eventually(async () => expect(subjects(batches).flat()).toContain('project/c'));
    expect(subjects(batches).flat()).toEqual(['project/a', 'project/b', 'project/c']);
    const record = batches[0]?.[0];
    expect(record).toMatchObject({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      awsRegion: REGION,
      eventSourceARN: expect.stringContaining(tableName),
      dynamodb: {
        Keys: { PK: { S: `OUTBOX#${first.id}` }, SK: { S: 'EVENT' } },
        StreamViewType: 'NEW_IMAGE',
        SequenceNumber: expect.any(String),
        ApproximateCreationDateTime: expect.any(Number),
      },
    });
  });

  it('redelivers from the first failed record of a batch (ReportBatchItemFailures)', async () => {
    const tableName = await freshTable();
    for (const subject of ['project/a', 'project/b', 'project/c']) await recordEvent(subject);
    const batches = poll(tableName, (event, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: event.Records[1]?.dynamodb?.SequenceNumber ?? '' }] } : {},
    );

    await eventually(async () => expect(batches).toHaveLength(2));
    expect(subjects(batches)).toEqual([
      ['project/a', 'project/b', 'project/c'],
      ['project/b', 'project/c'],
    ]);
  });

  it('retries the whole batch when invoke throws', async () => {
    const tableName = await freshTable();
    for (const subject of ['project/a', 'project/b']) await recordEvent(subject);
    const batches = poll(tableName, (_event, call) => {
      if (call === 1) throw new Error('function crashed');
    });

    await eventually(async () => expect(batches).toHaveLength(2));
    expect(subjects(batches)).toEqual([
      ['project/a', 'project/b'],
      ['project/a', 'project/b'],
    ]);
  });

  it('resumes after its checkpoint on restart without redelivering', async () => {
    const tableName = await freshTable();
    const checkpointFile = join(tmp, `${tableName}.json`);
    const before = poll(tableName, undefined, { checkpointFile });
    await recordEvent('project/a');
    await recordEvent('project/b');
    await eventually(async () => expect(subjects(before).flat()).toEqual(['project/a', 'project/b']));
    await pollers.pop()?.stop();

    await recordEvent('project/c');
    const after = poll(tableName, undefined, { checkpointFile });
    await eventually(async () => expect(subjects(after).flat()).toContain('project/c'));
    await recordEvent('project/d');
    await eventually(async () => expect(subjects(after).flat()).toContain('project/d'));
    expect(subjects(after).flat()).toEqual(['project/c', 'project/d']);
  });
});

describe('event publisher function', () => {
  it('puts each committed change event on the bus, retrying events the bus refused', async () => {
    const tableName = await freshTable();
    const received: BusEvent[] = [];
    const bus = createLocalEventBus({
      busName: 'slipway',
      region: REGION,
      accountId: '000000000000',
      rules: [
        {
          name: 'catalog',
          pattern: { source: [{ prefix: 'slipway.' }] },
          targets: [{ id: 'recorder', invoke: async (event) => void received.push(event) }],
        },
      ],
    });
    const endpoint = await startAwsEndpoint({ services: { AWSEvents: bus.service } });
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = endpoint.url;
    process.env.EVENT_BUS_NAME = 'no-such-bus'; // the bus refuses every entry until this is right
    const runtime = createLambdaRuntime({
      rootDir: resolve(import.meta.dirname, '../../..'),
      region: REGION,
      accountId: '000000000000',
      integrationTimeoutMs: 30_000,
    });
    const publisher = {
      name: 'event-publisher',
      entry: 'functions/event-publisher/handler.ts',
      timeoutSeconds: 30,
      memoryMb: 256,
    };
    const results: unknown[] = [];
    try {
      pollers.push(
        startStreamPoller({
          dynamoEndpoint,
          tableName,
          region: REGION,
          filter: streamConsumer.filter,
          pollIntervalMs: 20,
          backoff: { initialMs: 10, maxMs: 50 },
          invoke: async (event) => {
            const invocation = await runtime.invoke(publisher, event);
            if (invocation.outcome !== 'result') throw new Error(`publisher ${invocation.outcome}`);
            results.push(invocation.result);
            return invocation.result as StreamBatchResult;
          },
        }),
      );
      const change = await recordEvent('project/prj_1');
      await eventually(async () => expect(results.length).toBeGreaterThanOrEqual(2));
      expect(results[0]).toEqual({ batchItemFailures: [{ itemIdentifier: expect.any(String) }] });
      expect(received).toEqual([]);

      process.env.EVENT_BUS_NAME = 'slipway';
      await eventually(async () => expect(received).toHaveLength(1));
      expect(changeOf(received[0] as BusEvent)).toEqual(change);
      expect(received[0]).toMatchObject({ source: 'slipway.catalog', 'detail-type': 'Project Created' });
    } finally {
      delete process.env.EVENT_BUS_NAME;
      await endpoint.close();
      await bus.stop();
    }
  });
});
