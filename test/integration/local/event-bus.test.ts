import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '../../../infra/local/aws-endpoint.ts';
import { type BusRule, createLocalEventBus, type LocalEventBus } from '../../../infra/local/eventbridge/bus.ts';
import type { BusEvent } from '../../../shared/events/envelope.ts';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const BUS = 'slipway-test';

interface Running {
  bus: LocalEventBus;
  endpoint: AwsEndpoint;
  client: EventBridgeClient;
  /** What the bus counted for the metrics (BusDeliveriesRetried, BusDeliveriesDeadLettered), as `<what> <rule>`. */
  counted: string[];
}
let running: Running | undefined;

afterEach(async () => {
  running?.client.destroy();
  await running?.endpoint.close();
  await running?.bus.stop();
  running = undefined;
});

/** A bus with these rules behind the real EventBridge SDK client; retries within milliseconds. */
async function startBus(rules: BusRule[]): Promise<Running> {
  const counted: string[] = [];
  const bus = createLocalEventBus({
    busName: BUS,
    region: REGION,
    accountId: ACCOUNT,
    rules,
    backoff: { initialMs: 5, maxMs: 20 },
    count: (what, rule) => counted.push(`${what} ${rule}`),
  });
  const endpoint = await startAwsEndpoint({
    services: { AWSEvents: bus.service },
    views: { '/_local/eventbridge/dead-letters': () => bus.deadLetters() },
  });
  const client = new EventBridgeClient({
    endpoint: endpoint.url,
    region: REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  running = { bus, endpoint, client, counted };
  return running;
}

/** A target that records what it receives and fails its first `failures` calls. */
function recorder(id: string, failures = 0) {
  const received: BusEvent[] = [];
  let calls = 0;
  return {
    received,
    calls: () => calls,
    target: {
      id,
      invoke: async (event: BusEvent) => {
        calls++;
        if (calls <= failures) throw new Error(`${id} is down (call ${calls})`);
        received.push(event);
      },
    },
  };
}

const entry = (detailType: string, detail: object = { id: 'evt_1' }) => ({
  EventBusName: BUS,
  Source: 'slipway.catalog',
  DetailType: detailType,
  Detail: JSON.stringify(detail),
});

describe('local EventBridge bus', () => {
  it('answers each invalid entry with its own error and accepts the valid ones', async () => {
    const { client } = await startBus([]);
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry('Project Created'),
          { ...entry('Project Created'), Source: undefined },
          { ...entry('Project Created'), DetailType: undefined },
          { ...entry('Project Created'), Detail: undefined },
          { ...entry('Project Created'), Detail: '[1, 2]' },
          { ...entry('Project Created'), Detail: '{not json' },
          { ...entry('Project Created'), EventBusName: 'someone-elses-bus' },
          { ...entry('Project Created'), EventBusName: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${BUS}` },
          { ...entry('Project Created'), EventBusName: undefined },
          { ...entry('Project Created'), Source: 'aws.ec2' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(8);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'InvalidArgument',
      'InvalidArgument',
      'InvalidArgument',
      'MalformedDetail',
      'MalformedDetail',
      'ResourceNotFoundException',
      'ok',
      'ResourceNotFoundException', // no bus name means the default bus, and this is not it
      'NotAuthorizedForSourceException',
    ]);
    expect(out.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.Entries?.[1]?.ErrorMessage).toContain('Source');
  });

  it('refuses a request of more than 10 entries or over 256 KB as a whole', async () => {
    const { client } = await startBus([]);
    const eleven = Array.from({ length: 11 }, () => entry('Project Created'));
    await expect(client.send(new PutEventsCommand({ Entries: eleven }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    const big = entry('Project Created', { blob: 'x'.repeat(256 * 1024) });
    await expect(client.send(new PutEventsCommand({ Entries: [big] }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('delivers an event to the targets of matching rules only, in the EventBridge envelope', async () => {
    const deployments = recorder('deployments');
    const catalogA = recorder('catalog-a');
    const catalogB = recorder('catalog-b');
    const { bus, client } = await startBus([
      { name: 'deployments', pattern: { source: ['slipway.deployments'] }, targets: [deployments.target] },
      {
        name: 'projects',
        pattern: { source: ['slipway.catalog'], 'detail-type': [{ prefix: 'Project ' }] },
        targets: [catalogA.target, catalogB.target],
      },
    ]);
    const time = new Date('2026-11-27T10:00:00Z');
    const out = await client.send(
      new PutEventsCommand({ Entries: [{ ...entry('Project Created', { id: 'evt_1' }), Time: time }] }),
    );
    await bus.drained();

    expect(deployments.received).toEqual([]);
    expect(catalogA.received).toEqual([
      {
        version: '0',
        id: out.Entries?.[0]?.EventId,
        'detail-type': 'Project Created',
        source: 'slipway.catalog',
        account: ACCOUNT,
        time: '2026-11-27T10:00:00Z',
        region: REGION,
        resources: [],
        detail: { id: 'evt_1' },
      },
    ]);
    expect(catalogB.received).toEqual(catalogA.received);
  });

  it('retries a failing target, then dead-letters the event with its attempts', async () => {
    const broken = recorder('broken', Number.POSITIVE_INFINITY);
    const healthy = recorder('healthy');
    const { bus, client, endpoint, counted } = await startBus([
      {
        name: 'projects',
        pattern: { source: ['slipway.catalog'] },
        targets: [broken.target, healthy.target],
        retryPolicy: { maximumRetryAttempts: 2 },
      },
    ]);
    await client.send(new PutEventsCommand({ Entries: [entry('Project Created', { id: 'evt_dead' })] }));
    await bus.drained();

    expect(broken.calls()).toBe(3);
    expect(healthy.received).toHaveLength(1);
    const letters = bus.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      rule: 'projects',
      target: 'broken',
      attempts: 3,
      error: 'broken is down (call 3)',
      event: { detail: { id: 'evt_dead' } },
    });
    const viewed = await (await fetch(`${endpoint.url}/_local/eventbridge/dead-letters`)).json();
    expect(viewed).toEqual(letters);
    expect(counted).toEqual(['retried projects', 'retried projects', 'dead-lettered projects']);
  });

  it('delivers to a flaky target that recovers on the third try, without a dead letter', async () => {
    const flaky = recorder('flaky', 2);
    const { bus, client, counted } = await startBus([
      {
        name: 'projects',
        pattern: { source: ['slipway.catalog'] },
        targets: [flaky.target],
        retryPolicy: { maximumRetryAttempts: 5 },
      },
    ]);
    await client.send(new PutEventsCommand({ Entries: [entry('Project Created', { id: 'evt_flaky' })] }));
    await bus.drained();

    expect(flaky.calls()).toBe(3);
    expect(flaky.received.map((e) => e.detail)).toEqual([{ id: 'evt_flaky' }]);
    expect(bus.deadLetters()).toEqual([]);
    expect(counted).toEqual(['retried projects', 'retried projects']);
  });

  it('keeps dead letters in the data folder and reads them back on start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'slipway-bus-'));
    try {
      const broken = recorder('broken', Number.POSITIVE_INFINITY);
      const rules = [
        {
          name: 'projects',
          pattern: { source: ['slipway.catalog'] },
          targets: [broken.target],
          retryPolicy: { maximumRetryAttempts: 0 },
        },
      ];
      const options = { busName: BUS, region: REGION, accountId: ACCOUNT, rules, dataDir };
      const first = createLocalEventBus(options);
      await first.service('PutEvents', { Entries: [entry('Project Created', { id: 'evt_kept' })] });
      await first.drained();
      await first.stop();

      const again = createLocalEventBus(options);
      expect(again.deadLetters().map((letter) => [letter.event.detail, letter.attempts])).toEqual([
        [{ id: 'evt_kept' }, 1],
      ]);
      await again.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a rule with an invalid pattern at start', () => {
    expect(() =>
      createLocalEventBus({
        busName: BUS,
        region: REGION,
        accountId: ACCOUNT,
        rules: [{ name: 'bad', pattern: { source: 'slipway.catalog' }, targets: [] }],
      }),
    ).toThrow(/Event pattern is not valid/);
  });
});
