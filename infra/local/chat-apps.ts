/**
 * The local chat apps: credentials generated at the first start (kept in the local Secrets Manager
 * as `slipway/chat/apps`, like an operator's secret on AWS), and callbacks signed exactly as each
 * platform signs them, for `npm run chat`, the tests and the bench.
 */
import { createHash, randomBytes } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type ChatApps, parseChatApps } from '../../shared/chat/apps.ts';
import { dingtalkSign } from '../../shared/chat/verify/dingtalk.ts';
import { encryptFeishu, feishuSignature } from '../../shared/chat/verify/feishu.ts';
import { slackSignature } from '../../shared/chat/verify/slack.ts';
import { decryptWeCom, encryptWeCom, wecomSignature } from '../../shared/chat/verify/wecom.ts';
import type { ChatKind } from '../../shared/notify/channels.ts';

export const CHAT_APPS_SECRET_NAME = 'slipway/chat/apps';

const secret = (bytes = 24) => randomBytes(bytes).toString('hex');

/** The local chat apps: every platform with callback and bot credentials (the receiver plays their bot APIs with them). */
export interface LocalChatApps {
  slack: { signing_secret: string; bot_token: string };
  feishu: { app_id: string; app_secret: string; verification_token: string; encrypt_key: string };
  dingtalk: { app_key: string; app_secret: string; robot_code: string };
  wecom: { corp_id: string; token: string; encoding_aes_key: string; agent_id: number; secret: string };
}

export function generateChatApps(): LocalChatApps {
  return {
    slack: { signing_secret: secret(16), bot_token: `xoxb-local-${secret(12)}` },
    feishu: { app_id: 'cli_local', app_secret: secret(), verification_token: secret(16), encrypt_key: secret(16) },
    dingtalk: { app_key: 'dinglocal', app_secret: secret(), robot_code: 'dinglocal' },
    wecom: {
      corp_id: 'wwlocal',
      token: secret(8),
      encoding_aes_key: randomBytes(32).toString('base64').slice(0, 43),
      agent_id: 1000002,
      secret: secret(),
    },
  };
}

/** The running local cloud's chat apps, read through its Secrets Manager (endpoint from the environment by default). */
export async function readChatApps(endpoint?: string): Promise<ChatApps> {
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    ...(endpoint ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 } : {}),
  });
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: CHAT_APPS_SECRET_NAME }));
    // The functions' own reader: the same schema, and an invalid document named by its fields only.
    return parseChatApps(out.SecretString ?? '{}');
  } finally {
    client.destroy();
  }
}

/** The workspace or tenant a local callback comes from, per platform (WeCom's is the CorpID). */
export const localTenant = (apps: ChatApps, platform: ChatKind): string =>
  ({ slack: 'T0LOCAL', feishu: 'local-tenant', dingtalk: 'dinglocalcorp', wecom: apps.wecom?.corp_id ?? 'wwlocal' })[
    platform
  ];

export type LocalAction =
  | { kind: 'decide'; approvalId: string; decision: 'approve' | 'reject'; comment?: string }
  | Press
  | { kind: 'command'; text: string };

/**
 * A click on a button of a card as the bot posted it: the callback carries the button's own value
 * back (Slack `action_id`/`value`, Feishu `value`, DingTalk `id`/`params`, WeCom `key`), and
 * DingTalk names the card (`outTrackId`, its cardBizId).
 */
export interface Press {
  kind: 'press';
  button: Record<string, unknown>;
  card?: string;
  comment?: string;
}

/** A command's text (only read when the action is no press). */
const textOf = (action: LocalAction) => (action.kind === 'command' ? action.text : '');

/** The button a card shows for this decision, in the platform's shape (approval-card.ts). */
function pressOf(platform: ChatKind, action: LocalAction): Press | undefined {
  if (action.kind === 'press') return action;
  if (action.kind !== 'decide') return undefined;
  const { decision, approvalId, comment } = action;
  const button = {
    slack: { action_id: decision, value: approvalId },
    feishu: { value: { action: decision, approval_id: approvalId } },
    dingtalk: { id: decision, params: { action: decision, approval_id: approvalId } },
    wecom: { key: `${decision}:${approvalId}` },
  }[platform];
  return { kind: 'press', button, card: `apr-card-${approvalId}`, ...(comment ? { comment } : {}) };
}

export interface SignedRequest {
  method: 'GET' | 'POST';
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface SignOptions {
  user: string;
  action: LocalAction;
  /** The delivery's id (a retry sends the same); random by default. */
  deliveryId?: string;
  nowMs?: number;
}

/** The request the platform would send for this action by this user, signed with the local app. */
export function signedCallback(apps: ChatApps, platform: ChatKind, options: SignOptions): SignedRequest {
  const now = options.nowMs ?? Date.now();
  const id = options.deliveryId ?? secret(8);
  const tenant = localTenant(apps, platform);
  return { slack, feishu, dingtalk, wecom }[platform](apps, { ...options, tenant, id, now });
}

type Signer = (apps: ChatApps, o: SignOptions & { tenant: string; id: string; now: number }) => SignedRequest;

const slack: Signer = (apps, { user, action, tenant, id, now }) => {
  const app = required(apps.slack, 'slack');
  const timestamp = String(Math.floor(now / 1000));
  const press = pressOf('slack', action);
  const body = press
    ? new URLSearchParams({
        payload: JSON.stringify({
          type: 'block_actions',
          trigger_id: id,
          user: { id: user, team_id: tenant },
          team: { id: tenant, domain: 'local' },
          actions: [{ ...press.button, type: 'button', action_ts: timestamp }],
          // What is typed in the card's input block (`comment`/`comment`) comes with the click.
          ...(press.comment
            ? { state: { values: { comment: { comment: { type: 'plain_text_input', value: press.comment } } } } }
            : {}),
        }),
      }).toString()
    : new URLSearchParams({
        team_id: tenant,
        user_id: user,
        command: '/slipway',
        text: textOf(action),
        trigger_id: id,
      }).toString();
  return {
    method: 'POST',
    path: press ? '/api/v1/chat/slack/interactions' : '/api/v1/chat/slack/commands',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': slackSignature(app.signing_secret, timestamp, body),
    },
    body,
  };
};

const feishu: Signer = (apps, { user, action, tenant, id, now }) => {
  const app = required(apps.feishu, 'feishu');
  const header = {
    event_id: id,
    token: app.verification_token,
    create_time: String(now),
    tenant_key: tenant,
    app_id: app.app_id,
  };
  const press = pressOf('feishu', action);
  const event = press
    ? {
        schema: '2.0',
        header: { ...header, event_type: 'card.action.trigger' },
        event: {
          operator: { tenant_key: tenant, open_id: user },
          token: secret(8),
          action: {
            tag: 'button',
            value: press.button.value,
            ...(press.comment ? { form_value: { comment: press.comment } } : {}),
          },
        },
      }
    : {
        schema: '2.0',
        header: { ...header, event_type: 'im.message.receive_v1' },
        event: {
          sender: { sender_id: { open_id: user }, tenant_key: tenant },
          message: { message_id: `om_${id}`, message_type: 'text', content: JSON.stringify({ text: textOf(action) }) },
        },
      };
  const plain = JSON.stringify(event);
  const encryptKey = app.encrypt_key;
  const body = encryptKey ? JSON.stringify({ encrypt: encryptFeishu(encryptKey, plain) }) : plain;
  const timestamp = String(Math.floor(now / 1000));
  const nonce = secret(8);
  return {
    method: 'POST',
    path: '/api/v1/chat/feishu/events',
    headers: {
      'content-type': 'application/json',
      ...(encryptKey
        ? {
            'x-lark-request-timestamp': timestamp,
            'x-lark-request-nonce': nonce,
            'x-lark-signature': feishuSignature(timestamp, nonce, encryptKey, body),
          }
        : {}),
    },
    body,
  };
};

const dingtalk: Signer = (apps, { user, action, tenant, id, now }) => {
  const app = required(apps.dingtalk, 'dingtalk');
  const press = pressOf('dingtalk', action);
  const body = press
    ? {
        type: 'actionCallback',
        outTrackId: press.card,
        corpId: tenant,
        userId: user,
        // DingTalk repeats the callback body on a retry; a fresh nonce makes each click its own.
        content: JSON.stringify({
          cardPrivateData: {
            actionIds: [press.button.id],
            params: {
              ...(press.button.params as object),
              click: id,
              ...(press.comment ? { comment: press.comment } : {}),
            },
          },
        }),
      }
    : {
        msgtype: 'text',
        msgId: id,
        text: { content: textOf(action) },
        chatbotCorpId: tenant,
        senderCorpId: tenant,
        senderStaffId: user,
        conversationType: '1',
        robotCode: app.robot_code,
      };
  const timestamp = String(now);
  return {
    method: 'POST',
    path: '/api/v1/chat/dingtalk/events',
    headers: { 'content-type': 'application/json', timestamp, sign: dingtalkSign(app.app_secret, timestamp) },
    body: JSON.stringify(body),
  };
};

const wecom: Signer = (apps, { user, action, tenant, id, now }) => {
  const app = required(apps.wecom, 'wecom');
  const created = Math.floor(now / 1000);
  const press = pressOf('wecom', action);
  const fields = press
    ? `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[${press.button.key}]]></EventKey><TaskId><![CDATA[${press.card ?? id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>`
    : `<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[${textOf(action)}]]></Content><MsgId>${BigInt(`0x${createHash('sha256').update(id).digest('hex').slice(0, 15)}`)}</MsgId>`;
  const inner = `<xml><ToUserName><![CDATA[${tenant}]]></ToUserName><FromUserName><![CDATA[${user}]]></FromUserName><CreateTime>${created}</CreateTime>${fields}<AgentID>${app.agent_id ?? 1}</AgentID></xml>`;
  const encrypt = encryptWeCom(app.encoding_aes_key, inner, app.corp_id);
  const timestamp = String(created);
  const nonce = String(randomBytes(4).readUInt32BE());
  const query = new URLSearchParams({
    msg_signature: wecomSignature(app.token, timestamp, nonce, encrypt),
    timestamp,
    nonce,
  });
  return {
    method: 'POST',
    path: `/api/v1/chat/wecom/events?${query}`,
    headers: { 'content-type': 'application/xml' },
    body: `<xml><ToUserName><![CDATA[${tenant}]]></ToUserName><AgentID><![CDATA[${app.agent_id ?? 1}]]></AgentID><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`,
  };
};

function required<T>(app: T | undefined, platform: ChatKind): T {
  if (!app) throw new Error(`The chat apps secret has no ${platform} app`);
  return app;
}

/** Sends a signed request to the local gateway. */
export async function send(baseUrl: string, request: SignedRequest): Promise<{ status: number; text: string }> {
  const response = await fetch(baseUrl + request.path, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  return { status: response.status, text: await response.text() };
}

/** What the person who acted is shown, read out of the platform-shaped answer (WeCom's is encrypted). */
export function replyText(apps: ChatApps, platform: ChatKind, answer: string): string {
  if (platform === 'wecom') {
    const encrypt = /<Encrypt><!\[CDATA\[(.*?)\]\]><\/Encrypt>/.exec(answer)?.[1] ?? '';
    const inner = decryptWeCom(apps.wecom?.encoding_aes_key ?? '', encrypt)?.message ?? '';
    return /<Content><!\[CDATA\[([\s\S]*?)\]\]><\/Content>/.exec(inner)?.[1] ?? '';
  }
  const body = JSON.parse(answer);
  const text = body.text?.content ?? body.text ?? body.toast?.content ?? body.userPrivateData?.cardParamMap?.reply;
  return typeof text === 'string' ? text : answer;
}
