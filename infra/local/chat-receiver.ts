/**
 * The chat platforms on this machine: `npm start` points the notifier at it (unless `--chat <file>`
 * names real channels). It plays each platform's incoming webhook and the bot API calls approval
 * cards make (ADR 31): tokens from app credentials, send, update, answered with the platform's own
 * success and error shapes. It prints what it receives, records it for tests, and serves the record
 * at `GET /_messages`. `failNext` makes the next bot calls answer the platform's rate-limit error.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatKind } from '../../shared/notify/channels.ts';
import { generateChatApps, type LocalChatApps } from './chat-apps.ts';

/** One request the receiver answered. */
export interface ReceivedCall {
  platform: ChatKind;
  kind: 'webhook' | 'token' | 'post' | 'update';
  method: string;
  path: string;
  body: unknown;
  /** The message a post created or an update replaced (Slack `channel/ts`, Feishu message_id, …). */
  ref?: string;
  /** The platform's error code when it refused the call. */
  refused?: string;
}

/** A message a bot posted: every version it has shown, the latest last. */
export interface PostedMessage {
  platform: ChatKind;
  ref: string;
  conversation: string;
  versions: unknown[];
}

/** The bot credentials this receiver accepts, in the `slipway/chat/apps` shape. */
export type ReceiverApps = LocalChatApps;

export interface ChatReceiver {
  /** `http://127.0.0.1:<port>`; each platform under `/<platform>`. */
  url: string;
  apps: ReceiverApps;
  received: ReceivedCall[];
  /** Bot messages by `<platform>:<ref>`, in the order they were posted. */
  messages: Map<string, PostedMessage>;
  /** The next `count` send or update calls to `platform` answer its rate-limit error. */
  failNext(platform: ChatKind, count?: number): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
interface Answer {
  status?: number;
  body: Json | string;
  headers?: Record<string, string>;
}
type Route = (request: {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Json;
}) => Answer | undefined;

const secret = () => randomBytes(16).toString('hex');

export async function startChatReceiver(
  print: (line: string) => void,
  apps: ReceiverApps = generateChatApps(),
): Promise<ChatReceiver> {
  const received: ReceivedCall[] = [];
  const messages = new Map<string, PostedMessage>();
  const failures: Partial<Record<ChatKind, number>> = {};
  const tokens = new Map<string, ChatKind>();
  let sequence = 0;

  const issue = (platform: ChatKind) => {
    const token = `${platform}-token-${secret()}`;
    tokens.set(token, platform);
    return token;
  };
  const valid = (platform: ChatKind, token: string | undefined) => !!token && tokens.get(token) === platform;
  const record = (call: ReceivedCall) => {
    received.push(call);
    const what = call.refused ? `refused (${call.refused})` : titleOf(call.platform, call.body);
    if (call.kind !== 'token') print(`chat ▸ ${call.platform} ${call.kind}${call.ref ? ` ${call.ref}` : ''}: ${what}`);
  };
  /** Consumes one injected failure for the platform, if any. */
  const failing = (platform: ChatKind) => {
    const left = failures[platform] ?? 0;
    if (left > 0) failures[platform] = left - 1;
    return left > 0;
  };
  const post = (platform: ChatKind, conversation: string, ref: string, body: unknown) => {
    messages.set(`${platform}:${ref}`, { platform, ref, conversation, versions: [body] });
  };
  /** False when there is no such message. */
  const update = (platform: ChatKind, ref: string, body: unknown) => {
    const message = messages.get(`${platform}:${ref}`);
    message?.versions.push(body);
    return message !== undefined;
  };

  const slack: Route = ({ path, headers, body }) => {
    if (path === '/slack') return webhook('slack', body, { body: 'ok' });
    const method = path.replace('/slack/api/', '');
    if (method !== 'chat.postMessage' && method !== 'chat.update') return undefined;
    const kind = method === 'chat.update' ? 'update' : 'post';
    const refuse = (error: string, status = 200) => {
      record({ platform: 'slack', kind, method: 'POST', path, body, refused: error });
      return { status, body: { ok: false, error }, ...(status === 429 ? { headers: { 'retry-after': '1' } } : {}) };
    };
    if (bearer(headers) !== apps.slack.bot_token) return refuse('invalid_auth');
    if (failing('slack')) return refuse('ratelimited', 429);
    const channel = String(body.channel ?? '');
    if (!channel) return refuse('channel_not_found');
    if (kind === 'post') {
      const ts = `${Math.floor(Date.now() / 1000)}.${String(++sequence).padStart(6, '0')}`;
      post('slack', channel, `${channel}/${ts}`, body);
      record({ platform: 'slack', kind, method: 'POST', path, body, ref: `${channel}/${ts}` });
      return { body: { ok: true, channel, ts, message: { text: body.text } } };
    }
    const ref = `${channel}/${String(body.ts)}`;
    if (!update('slack', ref, body)) return refuse('message_not_found');
    record({ platform: 'slack', kind, method: 'POST', path, body, ref });
    return { body: { ok: true, channel, ts: body.ts, text: body.text } };
  };

  const feishu: Route = ({ method, path, query, headers, body }) => {
    if (path.startsWith('/feishu/open-apis/bot/v2/hook/'))
      return webhook('feishu', body, { body: { code: 0, msg: 'success', data: {} } });
    if (path === '/feishu/open-apis/auth/v3/tenant_access_token/internal') {
      record({ platform: 'feishu', kind: 'token', method, path, body: { app_id: body.app_id } });
      if (body.app_id !== apps.feishu.app_id || body.app_secret !== apps.feishu.app_secret) {
        return { body: { code: 10014, msg: 'app secret invalid' } };
      }
      return { body: { code: 0, msg: 'ok', tenant_access_token: issue('feishu'), expire: 7200 } };
    }
    const messageId = path.match(/^\/feishu\/open-apis\/im\/v1\/messages\/([^/]+)$/)?.[1];
    const kind =
      method === 'PATCH' && messageId
        ? 'update'
        : method === 'POST' && path === '/feishu/open-apis/im/v1/messages'
          ? 'post'
          : undefined;
    if (!kind) return undefined;
    const refuse = (status: number, code: number, msg: string) => {
      record({ platform: 'feishu', kind, method, path, body, refused: String(code) });
      return { status, body: { code, msg } };
    };
    if (!valid('feishu', bearer(headers))) {
      return refuse(
        400,
        99991663,
        'Invalid access token for authorization. Please make a request with token attached.',
      );
    }
    if (failing('feishu')) return refuse(429, 99991400, 'request trigger frequency limit');
    const card = parseJson(body.content);
    if (kind === 'post') {
      if (query.get('receive_id_type') !== 'chat_id' || !body.receive_id)
        return refuse(400, 230001, 'param is invalid: receive_id');
      if (body.msg_type !== 'interactive' || !card) return refuse(400, 230001, 'param is invalid: content');
      const id = `om_local${String(++sequence).padStart(8, '0')}`;
      post('feishu', String(body.receive_id), id, card);
      record({ platform: 'feishu', kind, method, path, body: card, ref: id });
      return {
        body: { code: 0, msg: 'success', data: { message_id: id, chat_id: body.receive_id, msg_type: 'interactive' } },
      };
    }
    const id = decodeURIComponent(messageId as string);
    // Feishu refuses to update a card that was not sent as shared (`update_multi`).
    if (!card || (card.config as Json | undefined)?.update_multi !== true)
      return refuse(400, 230099, 'card is not shared: update_multi');
    if (!update('feishu', id, card)) return refuse(400, 230011, 'The message was not found');
    record({ platform: 'feishu', kind, method, path, body: card, ref: id });
    return { body: { code: 0, msg: 'success', data: {} } };
  };

  const dingtalk: Route = ({ method, path, headers, body }) => {
    if (path === '/dingtalk/robot/send') return webhook('dingtalk', body, { body: { errcode: 0, errmsg: 'ok' } });
    if (path === '/dingtalk/v1.0/oauth2/accessToken') {
      record({ platform: 'dingtalk', kind: 'token', method, path, body: { appKey: body.appKey } });
      if (body.appKey !== apps.dingtalk.app_key || body.appSecret !== apps.dingtalk.app_secret) {
        return {
          status: 400,
          body: { code: 'invalidClientIdOrSecret', message: '无效的clientId或者clientSecret', requestid: secret() },
        };
      }
      return { body: { accessToken: issue('dingtalk'), expireIn: 7200 } };
    }
    const kind =
      method === 'POST' && path === '/dingtalk/v1.0/im/v1.0/robot/interactiveCards/send'
        ? 'post'
        : method === 'PUT' && path === '/dingtalk/v1.0/im/robots/interactiveCards'
          ? 'update'
          : undefined;
    if (!kind) return undefined;
    const refuse = (status: number, code: string, message: string) => {
      record({ platform: 'dingtalk', kind, method, path, body, refused: code });
      return { status, body: { code, message, requestid: secret() } };
    };
    if (!valid('dingtalk', header(headers, 'x-acs-dingtalk-access-token')))
      return refuse(401, 'InvalidAuthentication', '不合法的access_token');
    if (failing('dingtalk'))
      return refuse(403, 'Forbidden.AccessDenied.QpsLimitForApi', 'QPS limit for this API reached');
    const card = parseJson(body.cardData);
    const id = String(body.cardBizId ?? '');
    if (!card || !id) return refuse(400, 'param.error', 'cardData and cardBizId are required');
    if (kind === 'post') {
      if (
        body.cardTemplateId !== 'StandardCard' ||
        !body.openConversationId ||
        body.robotCode !== apps.dingtalk.robot_code
      ) {
        return refuse(400, 'param.error', 'cardTemplateId, openConversationId or robotCode is invalid');
      }
      post('dingtalk', String(body.openConversationId), id, card);
      record({ platform: 'dingtalk', kind, method, path, body: card, ref: id });
      return { body: { processQueryKey: secret() } };
    }
    if (!update('dingtalk', id, card)) return refuse(400, 'param.error', 'card not found');
    record({ platform: 'dingtalk', kind, method, path, body: card, ref: id });
    return { body: { success: true, result: true } };
  };

  const wecom: Route = ({ method, path, query, body }) => {
    if (path === '/wecom/cgi-bin/webhook/send') return webhook('wecom', body, { body: { errcode: 0, errmsg: 'ok' } });
    if (path === '/wecom/cgi-bin/gettoken') {
      record({ platform: 'wecom', kind: 'token', method, path, body: { corpid: query.get('corpid') } });
      if (query.get('corpid') !== apps.wecom.corp_id || query.get('corpsecret') !== apps.wecom.secret) {
        return { body: { errcode: 40001, errmsg: 'invalid credential' } };
      }
      return { body: { errcode: 0, errmsg: 'ok', access_token: issue('wecom'), expires_in: 7200 } };
    }
    if (path !== '/wecom/cgi-bin/message/send' || method !== 'POST') return undefined;
    // WeCom has no in-place update without a click's response_code: a follow-up replies to the card.
    const card = body.template_card as Json | undefined;
    const kind = card ? 'post' : 'update';
    const refuse = (errcode: number, errmsg: string) => {
      record({ platform: 'wecom', kind, method, path, body, refused: String(errcode) });
      return { body: { errcode, errmsg } };
    };
    if (!valid('wecom', query.get('access_token') ?? undefined)) return refuse(40014, 'invalid access_token');
    if (failing('wecom')) return refuse(45009, 'api freq out of limit');
    if (body.agentid !== apps.wecom.agent_id) return refuse(40056, 'invalid agentid');
    const to = String(body.touser ?? body.toparty ?? body.totag ?? '');
    if (!to) return refuse(40003, 'invalid user');
    const msgid = `msg${String(++sequence).padStart(8, '0')}`;
    if (card) post('wecom', to, String(card.task_id), body);
    record({ platform: 'wecom', kind, method, path, body, ref: card ? String(card.task_id) : msgid });
    return { body: { errcode: 0, errmsg: 'ok', msgid } };
  };

  const webhook = (platform: ChatKind, body: Json, answer: Answer): Answer => {
    record({ platform, kind: 'webhook', method: 'POST', path: `/${platform}`, body });
    return answer;
  };

  const routes: Route[] = [slack, feishu, dingtalk, wecom];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://receiver');
      if (req.method === 'GET' && url.pathname === '/_messages') {
        return reply(res, { body: { received, messages: [...messages.values()] } });
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = (raw ? parseJson(raw) : {}) ?? {};
      const request = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
      };
      for (const route of routes) {
        const answer = route(request);
        if (answer) return reply(res, answer);
      }
      print(`chat ▸ unknown call ${request.method} ${request.path}`);
      reply(res, { status: 404, body: { error: 'no such API here' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apps,
    received,
    messages,
    failNext(platform, count = 1) {
      failures[platform] = (failures[platform] ?? 0) + count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function reply(res: ServerResponse, answer: Answer): void {
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  const type = typeof answer.body === 'string' ? 'text/plain' : 'application/json; charset=utf-8';
  res.writeHead(answer.status ?? 200, { 'content-type': type, ...answer.headers }).end(text);
}

const bearer = (headers: IncomingMessage['headers']) => header(headers, 'authorization')?.replace(/^Bearer /, '');

function header(headers: IncomingMessage['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseJson(value: unknown): Json | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed = JSON.parse(value) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** A one-line summary of what a platform was sent: the text or card title. */
function titleOf(platform: ChatKind, body: unknown): string {
  const b = (body ?? {}) as Json;
  const pick = (...path: string[]) => path.reduce<unknown>((at, key) => (at as Json | undefined)?.[key], b);
  const candidates: Record<ChatKind, unknown[]> = {
    slack: [b.text],
    feishu: [pick('header', 'title', 'content'), pick('card', 'header', 'title', 'content')],
    dingtalk: [pick('header', 'title', 'text'), pick('markdown', 'title'), pick('actionCard', 'title')],
    wecom: [pick('template_card', 'main_title', 'title'), pick('markdown', 'content')],
  };
  const first = candidates[platform].find((value) => typeof value === 'string') as string | undefined;
  return (first ?? '(no text)').split('\n')[0] ?? '';
}

/** The notifier configuration that sends every message to the receiver, and approval cards to its Slack bot. */
/** One channel per platform with its bot on this receiver: where approval cards go (the tests' four platforms). */
export const botChannels = (receiver: ChatReceiver) => {
  const r = receiver.url;
  return [
    { kind: 'slack', url: `${r}/slack`, conversation: 'C0APPROVALS', api_url: `${r}/slack/api` },
    {
      kind: 'feishu',
      url: `${r}/feishu/open-apis/bot/v2/hook/x`,
      conversation: 'oc_approvals',
      api_url: `${r}/feishu`,
    },
    {
      kind: 'dingtalk',
      url: `${r}/dingtalk/robot/send?access_token=x`,
      conversation: 'cidApprovals',
      api_url: `${r}/dingtalk`,
    },
    {
      kind: 'wecom',
      url: `${r}/wecom/cgi-bin/webhook/send?key=bot`,
      conversation: 'rm-bob|rm-carol',
      api_url: `${r}/wecom`,
    },
  ];
};

export const receiverChannels = (receiver: ChatReceiver) => ({
  channels: [
    { kind: 'slack', url: `${receiver.url}/slack`, conversation: 'C0LOCAL', api_url: `${receiver.url}/slack/api` },
  ],
  allowed_hosts: ['127.0.0.1'],
  allow_private: ['127.0.0.1'],
});
