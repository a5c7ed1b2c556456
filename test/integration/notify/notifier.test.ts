/**
 * The notifier function end to end: its configuration from Secrets Manager (the real SDK client
 * against the local secrets service) and its messages to local chat receivers.
 */
import { createHmac } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '../../../infra/local/aws-endpoint.ts';
import { ensureTable, localDynamoClient } from '../../../infra/local/dynamodb.ts';
import { createLocalSecrets } from '../../../infra/local/secrets.ts';
import { loadChatApps } from '../../../shared/chat/apps.ts';
import type { BusEvent } from '../../../shared/events/envelope.ts';
import { chatConfigSource, InvalidChatConfig } from '../../../shared/notify/config.ts';
import { type Receiver, startReceiver } from '../../unit/notify/receiver.ts';

const PROJECT = 'prj_01jd0000000000000000000000';
const DINGTALK_SECRET = 'SECnotifier-test';

let endpoint: AwsEndpoint;
let slack: Receiver;
let dingtalk: Receiver;
let wecom: Receiver;
let secrets: ReturnType<typeof createLocalSecrets>;
/** Operations the Secrets Manager endpoint served. */
const secretCalls: string[] = [];
let handler: (event: BusEvent, context: Context) => Promise<void>;

beforeAll(async () => {
  secrets = createLocalSecrets({ region: 'eu-west-1', accountId: '123456789012' });
  endpoint = await startAwsEndpoint({
    services: {
      secretsmanager: (operation, input) => {
        secretCalls.push(operation);
        return secrets.service(operation, input);
      },
    },
  });
  [slack, dingtalk, wecom] = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);

  // The notifier also reads the event's project's own channels (none here) from the table.
  const dynamoEndpoint = inject('dynamoEndpoint');
  const tableName = `slipway-notifier-${process.pid}`;
  await ensureTable(localDynamoClient(dynamoEndpoint), tableName);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    TABLE_NAME: tableName,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
    SLIPWAY_CHAT_SECRET_ARN: secrets.put('slipway/chat', JSON.stringify(chatConfig())),
  });
  // Imported after the environment is set, as Lambda would: the module reads it once.
  ({ handler } = (await import('../../../functions/notifier/handler.ts')) as unknown as { handler: typeof handler });
});

afterAll(async () => {
  await Promise.all([endpoint?.close(), slack?.close(), dingtalk?.close(), wecom?.close()]);
});

beforeEach(() => {
  for (const receiver of [slack, dingtalk, wecom]) {
    receiver.requests.length = 0;
    receiver.answer = () => ({ body: receiver === slack ? 'ok' : { errcode: 0, errmsg: 'ok' } });
  }
  secretCalls.length = 0;
});

function chatConfig() {
  return {
    channels: [
      { kind: 'slack', url: `${slack.url}/services/T0/B0/x` },
      {
        kind: 'dingtalk',
        url: `${dingtalk.url}/robot/send?access_token=tok`,
        secret: DINGTALK_SECRET,
        events: ['Deployment Failed', 'Approval Requested'],
      },
      { kind: 'wecom', url: `${wecom.url}/cgi-bin/webhook/send?key=k`, projects: ['prj_someone_else'] },
    ],
    allowed_hosts: ['127.0.0.1'],
    allow_private: ['127.0.0.1'],
  };
}

let sequence = 0;
function busEvent(type: string, source = 'slipway.deployments', id = `01JD00000000000000000${++sequence}`): BusEvent {
  return {
    version: '0',
    id: `eb-${id}`,
    'detail-type': type,
    source,
    account: '123456789012',
    time: '2026-11-20T14:03:27Z',
    region: 'eu-west-1',
    resources: [],
    detail: {
      id,
      time: '2026-11-20T14:03:27.000Z',
      actor: 'usr_bob',
      subject: 'deployment/dep_01jd0000000000000000000000',
      project_id: PROJECT,
      data: { app_name: 'shop-api', env: 'prod', image: 'ghcr.io/acme/shop-api:1.4.2', actor: 'alice' },
    },
  };
}

/** Runs `work` with the notifier pointed at another secret (or none); the config cache is per ARN. */
async function withSecretArn<T>(arn: string | undefined, work: () => Promise<T>): Promise<T> {
  const original = process.env.SLIPWAY_CHAT_SECRET_ARN;
  if (arn === undefined) delete process.env.SLIPWAY_CHAT_SECRET_ARN;
  else process.env.SLIPWAY_CHAT_SECRET_ARN = arn;
  try {
    return await work();
  } finally {
    process.env.SLIPWAY_CHAT_SECRET_ARN = original;
  }
}

const context = { awsRequestId: 'req-1', functionName: 'slipway-notifier' } as Context;

describe('notifier', () => {
  it('sends a failed deployment to every channel that wants it, signed where configured', async () => {
    await handler(busEvent('Deployment Failed'), context);

    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0]?.json).toMatchObject({ text: expect.stringContaining('Deploy failed: shop-api to prod') });
    expect(dingtalk.requests).toHaveLength(1);
    const { query } = dingtalk.requests[0] as NonNullable<(typeof dingtalk.requests)[number]>;
    const expected = createHmac('sha256', DINGTALK_SECRET)
      .update(`${query.get('timestamp')}\n${DINGTALK_SECRET}`)
      .digest('base64');
    expect(query.get('sign')).toBe(expected);
    expect(wecom.requests).toHaveLength(0); // scoped to another project
  });

  it("respects a channel's event list", async () => {
    await handler(busEvent('Deployment Succeeded'), context);
    expect(slack.requests).toHaveLength(1);
    expect(dingtalk.requests).toHaveLength(0);
  });

  it('reads the configuration once per container, not once per event', async () => {
    const arn = secrets.put('slipway/chat-cached', JSON.stringify(chatConfig()));
    await withSecretArn(arn, async () => {
      await handler(busEvent('Deployment Started'), context);
      await handler(busEvent('Deployment Succeeded'), context);
    });
    expect(slack.requests).toHaveLength(2);
    expect(secretCalls).toEqual(['GetSecretValue']);
  });

  it('fails the event when a channel fails, and a retry re-sends only to that channel', async () => {
    let refusals = 1;
    dingtalk.answer = () =>
      refusals-- > 0 ? { body: { errcode: 310000, errmsg: 'keywords not in content' } } : { body: { errcode: 0 } };
    const event = busEvent('Deployment Failed');

    await expect(handler(event, context)).rejects.toThrow(
      /1 of 2 channel\(s\) failed: dingtalk:[0-9a-f]{12}: DingTalk refused the message: code 310000/,
    );
    expect(slack.requests).toHaveLength(1);

    // EventBridge's retry carries the same ChangeEvent id.
    await handler(event, context);
    expect(slack.requests).toHaveLength(1);
    expect(dingtalk.requests).toHaveLength(2);
  });

  it('sends nothing for events that render to nothing, without reading the configuration', async () => {
    const arn = secrets.put('slipway/chat-unread', JSON.stringify(chatConfig()));
    await withSecretArn(arn, () => handler(busEvent('Project Created', 'slipway.catalog'), context));
    expect([...slack.requests, ...dingtalk.requests, ...wecom.requests]).toEqual([]);
    expect(secretCalls).toEqual([]);
  });

  it('sends nothing, and does not fail, when the configuration is invalid', async () => {
    const invalid = { channels: [{ kind: 'teams', url: `${slack.url}/x` }] };
    const arn = secrets.put('slipway/chat-invalid', JSON.stringify(invalid));
    await withSecretArn(arn, () => handler(busEvent('Deployment Failed'), context));
    expect(secretCalls).toEqual(['GetSecretValue']);
    expect(slack.requests).toHaveLength(0);
  });

  it('fails the event when the configuration cannot be read, so EventBridge retries it', async () => {
    const missing = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slipway/missing-AbCdEf';
    await expect(withSecretArn(missing, () => handler(busEvent('Deployment Failed'), context))).rejects.toThrow();
    expect(slack.requests).toHaveLength(0);
  });

  it('sends the plain approval message to a channel with a conversation when the apps secret is invalid', async () => {
    const withConversation = {
      ...chatConfig(),
      channels: [{ kind: 'slack', url: `${slack.url}/x`, conversation: 'C1' }],
    };
    const arn = secrets.put('slipway/chat-cards', JSON.stringify(withConversation));
    process.env.SLIPWAY_CHAT_APPS_SECRET = secrets.put('slipway/chat/apps-invalid', '{"feishu": {"app_id": 1}}');
    try {
      await withSecretArn(arn, () => handler(busEvent('Approval Requested', 'slipway.approvals'), context));
    } finally {
      delete process.env.SLIPWAY_CHAT_APPS_SECRET;
    }
    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0]?.json).toMatchObject({
      text: expect.stringContaining('Approval needed: shop-api to prod'),
    });
  });

  it('does nothing without a configured secret', async () => {
    await withSecretArn(undefined, () => handler(busEvent('Deployment Failed'), context));
    expect(secretCalls).toEqual([]);
    expect(slack.requests).toHaveLength(0);
  });
});

describe('chatConfigSource', () => {
  const clock = { now: 0 };
  const source = (secretId: string) =>
    chatConfigSource({ secretId, client: new SecretsManagerClient({}), ttlMs: 60_000, now: () => clock.now });

  it('keeps the configuration for its TTL, then reads the current value', async () => {
    const arn = secrets.put('slipway/chat-ttl', JSON.stringify({ channels: [] }));
    const load = source(arn);
    await load();
    secrets.put('slipway/chat-ttl', JSON.stringify(chatConfig()));
    clock.now += 59_000;
    expect((await load()).channels).toEqual([]);
    clock.now += 2_000;
    expect((await load()).channels).toHaveLength(3);
    expect(secretCalls).toEqual(['GetSecretValue', 'GetSecretValue']);
  });

  it('keeps an invalid configuration too, but retries a failed read on the next event', async () => {
    const invalid = source(secrets.put('slipway/chat-bad', '{"channels": 1}'));
    await expect(invalid()).rejects.toThrow(InvalidChatConfig);
    await expect(invalid()).rejects.toThrow(InvalidChatConfig);
    expect(secretCalls).toEqual(['GetSecretValue']);

    const missing = source('slipway/chat-not-yet');
    await expect(missing()).rejects.toThrow(/can't find the specified secret/);
    secrets.put('slipway/chat-not-yet', JSON.stringify({ channels: [] }));
    expect(await missing()).toEqual({ channels: [] });
  });
});

describe('loadChatApps', () => {
  it('reads a secret that does not exist (yet) as no apps, so callbacks are refused and approvals go plain', async () => {
    process.env.SLIPWAY_CHAT_APPS_SECRET = 'slipway/test/chat/apps-not-yet';
    try {
      expect(await loadChatApps()).toEqual({});
      expect(secretCalls).toEqual(['GetSecretValue']);
    } finally {
      delete process.env.SLIPWAY_CHAT_APPS_SECRET;
    }
  });

  it('still fails on an invalid document, naming its fields', async () => {
    process.env.SLIPWAY_CHAT_APPS_SECRET = secrets.put('slipway/test/chat/apps-bad', '{"slack": {}}');
    try {
      await expect(loadChatApps()).rejects.toThrow(/invalid at: slack.signing_secret/);
    } finally {
      delete process.env.SLIPWAY_CHAT_APPS_SECRET;
    }
  });
});
