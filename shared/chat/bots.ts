/**
 * The platforms' bot APIs for approval messages (ADR 31): post a card, then replace it. Every call
 * goes through safePost (allowed hosts, public addresses, pinned, bounded). Access tokens are
 * fetched from the app's credentials and kept per container until shortly before they expire; a
 * call that fails drops its token, so a revoked one is fetched afresh on the bus's retry.
 */
import { createHash } from 'node:crypto';
import type { ChatKind, DeliveryPolicy } from '../notify/channels.ts';
import { expectZero } from '../notify/channels.ts';
import type { BotTarget } from '../notify/config.ts';
import { ChatDeliveryFailed, safePost } from '../notify/safe-fetch.ts';
import {
  type ApprovalCard,
  dingTalkApprovalCard,
  feishuApprovalCard,
  slackApprovalMessage,
  weComApprovalCard,
  weComFollowUp,
} from './approval-card.ts';
import type { ChatApps } from './apps.ts';

/** What a platform needs to find a message again: Slack channel+ts, Feishu message_id, DingTalk cardBizId, WeCom task_id. */
export type MessageRef = Readonly<Record<string, string>>;

export interface ChatBot {
  /** Posts the card; `key` is stable per approval and channel (the platforms that dedupe or name cards use it). */
  post(card: ApprovalCard, key: string): Promise<MessageRef>;
  /** Replaces the card (WeCom: posts a follow-up, see approval-card.ts). */
  update(ref: MessageRef, card: ApprovalCard): Promise<void>;
}

export const DEFAULT_API_URLS: Readonly<Record<ChatKind, string>> = {
  slack: 'https://slack.com/api',
  feishu: 'https://open.feishu.cn',
  dingtalk: 'https://api.dingtalk.com',
  wecom: 'https://qyapi.weixin.qq.com',
};

/** The bot for a channel's conversation, or undefined when the platform's app has no bot credentials. */
export function chatBot(target: BotTarget, apps: ChatApps): ChatBot | undefined {
  const api = (target.apiUrl ?? DEFAULT_API_URLS[target.kind]).replace(/\/+$/, '');
  const call = caller(target.policy);
  switch (target.kind) {
    case 'slack':
      return apps.slack?.bot_token ? slackBot(api, apps.slack.bot_token, target.conversation, call) : undefined;
    case 'feishu':
      return apps.feishu ? feishuBot(api, apps.feishu, target.conversation, call) : undefined;
    case 'dingtalk':
      return apps.dingtalk ? dingTalkBot(api, apps.dingtalk, target.conversation, call) : undefined;
    case 'wecom': {
      const app = apps.wecom;
      if (!app?.secret || app.agent_id === undefined) return undefined;
      return weComBot(api, { ...app, secret: app.secret, agent_id: app.agent_id }, target.conversation, call);
    }
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH';
type Call = (method: Method, url: string, body?: unknown, headers?: Record<string, string>) => Promise<string>;

const caller =
  (policy: DeliveryPolicy): Call =>
  async (method, url, body, headers) =>
    (await safePost(url, body, { ...policy, method, ...(headers ? { headers } : {}) })).text;

function slackBot(api: string, token: string, channel: string, call: Call): ChatBot {
  const send = async (method: string, body: Record<string, unknown>) => {
    const text = await call('POST', `${api}/${method}`, body, { authorization: `Bearer ${token}` });
    const answer = json('Slack', text);
    // Slack answers HTTP 200 with `ok: false` and an error name (channel_not_found, invalid_auth…).
    if (answer.ok !== true) throw new ChatDeliveryFailed(`Slack refused ${method}: ${String(answer.error)}`);
    return answer;
  };
  return {
    async post(card) {
      const answer = await send('chat.postMessage', {
        channel,
        ...slackApprovalMessage(card),
        unfurl_links: false,
        unfurl_media: false,
      });
      return { channel: String(answer.channel), ts: String(answer.ts) };
    },
    async update(ref, card) {
      await send('chat.update', { channel: ref.channel, ts: ref.ts, ...slackApprovalMessage(card) });
    },
  };
}

function feishuBot(api: string, app: NonNullable<ChatApps['feishu']>, chatId: string, call: Call): ChatBot {
  const token = tokens(`feishu ${api} ${app.app_id}`, async () => {
    const text = await call('POST', `${api}/open-apis/auth/v3/tenant_access_token/internal`, {
      app_id: app.app_id,
      app_secret: app.app_secret,
    });
    expectZero('Feishu', text, ['code'], ['msg']);
    const answer = json('Feishu', text);
    return { token: String(answer.tenant_access_token), seconds: Number(answer.expire) };
  });
  const send = (method: Method, url: string, body: unknown) =>
    token.use(async (bearer) => {
      const text = await call(method, url, body, { authorization: `Bearer ${bearer}` });
      expectZero('Feishu', text, ['code'], ['msg']);
      return json('Feishu', text);
    });
  return {
    async post(card, key) {
      const answer = await send('POST', `${api}/open-apis/im/v1/messages?receive_id_type=chat_id`, {
        receive_id: chatId,
        msg_type: 'interactive',
        content: JSON.stringify(feishuApprovalCard(card)),
        // Feishu drops a second message with the same uuid within an hour: a retried post is not doubled.
        uuid: key,
      });
      const data = (answer.data ?? {}) as Record<string, unknown>;
      return { message_id: String(data.message_id) };
    },
    async update(ref, card) {
      const id = encodeURIComponent(ref.message_id ?? '');
      await send('PATCH', `${api}/open-apis/im/v1/messages/${id}`, {
        content: JSON.stringify(feishuApprovalCard(card)),
      });
    },
  };
}

function dingTalkBot(api: string, app: NonNullable<ChatApps['dingtalk']>, conversation: string, call: Call): ChatBot {
  const token = tokens(`dingtalk ${api} ${app.app_key}`, async () => {
    const answer = json(
      'DingTalk',
      await call('POST', `${api}/v1.0/oauth2/accessToken`, { appKey: app.app_key, appSecret: app.app_secret }),
    );
    return { token: String(answer.accessToken), seconds: Number(answer.expireIn) };
  });
  // DingTalk's new API answers errors with an HTTP error status and `{ code, message }`: safePost throws on them.
  const send = (method: Method, path: string, body: unknown) =>
    token.use((bearer) => call(method, `${api}${path}`, body, { 'x-acs-dingtalk-access-token': bearer }));
  return {
    async post(card, key) {
      const cardBizId = key;
      await send('POST', '/v1.0/im/v1.0/robot/interactiveCards/send', {
        cardTemplateId: 'StandardCard',
        openConversationId: conversation,
        robotCode: app.robot_code ?? app.app_key,
        cardBizId,
        cardData: JSON.stringify(dingTalkApprovalCard(card)),
      });
      return { card_biz_id: cardBizId };
    },
    async update(ref, card) {
      await send('PUT', '/v1.0/im/robots/interactiveCards', {
        cardBizId: ref.card_biz_id,
        cardData: JSON.stringify(dingTalkApprovalCard(card)),
        updateOptions: { updateCardDataByKey: false },
      });
    },
  };
}

interface WeComApp {
  corp_id: string;
  secret: string;
  agent_id: string | number;
}

function weComBot(api: string, app: WeComApp, conversation: string, call: Call): ChatBot {
  const token = tokens(`wecom ${api} ${app.corp_id} ${app.agent_id}`, async () => {
    const query = new URLSearchParams({ corpid: app.corp_id, corpsecret: app.secret });
    const text = await call('GET', `${api}/cgi-bin/gettoken?${query}`);
    expectZero('WeCom', text, ['errcode'], ['errmsg']);
    const answer = json('WeCom', text);
    return { token: String(answer.access_token), seconds: Number(answer.expires_in) };
  });
  const send = (body: Record<string, unknown>) =>
    token.use(async (bearer) => {
      const url = `${api}/cgi-bin/message/send?access_token=${encodeURIComponent(bearer)}`;
      const text = await call('POST', url, {
        ...weComRecipients(conversation),
        agentid: Number(app.agent_id),
        ...body,
      });
      expectZero('WeCom', text, ['errcode'], ['errmsg']);
    });
  return {
    async post(card, key) {
      const taskId = key.replace(/[^A-Za-z0-9_\-@]/g, '_').slice(0, 128);
      // Decided before it was first posted: there is nothing to click, so only the outcome goes.
      if (card.state !== 'pending') await send(weComFollowUp(card));
      else await send({ msgtype: 'template_card', template_card: weComApprovalCard(card, taskId) });
      return { task_id: taskId };
    },
    async update(_ref, card) {
      await send(weComFollowUp(card));
    },
  };
}

/** WeCom app messages go to people: `party:1|2` and `tag:3` name departments and tags, anything else user ids. */
function weComRecipients(conversation: string): Record<string, string> {
  if (conversation.startsWith('party:')) return { toparty: conversation.slice(6) };
  if (conversation.startsWith('tag:')) return { totag: conversation.slice(4) };
  return { touser: conversation };
}

/** A stable message key per approval and channel: names DingTalk and WeCom cards, dedupes Feishu posts. */
export const messageKey = (approvalId: string, channelId: string) =>
  `${approvalId}_${createHash('sha256').update(channelId).digest('hex').slice(0, 12)}`;

interface Issued {
  token: string;
  seconds: number;
}

const TOKEN_MARGIN_MS = 5 * 60_000;
const issued = new Map<string, { token: string; until: number }>();

/** A token kept per container under `name`; `use` runs work with it and forgets it if the work fails. */
function tokens(name: string, fetchToken: () => Promise<Issued>) {
  return {
    async use<T>(work: (token: string) => Promise<T>): Promise<T> {
      let entry = issued.get(name);
      if (!entry || entry.until <= Date.now()) {
        const fresh = await fetchToken();
        if (!fresh.token || fresh.token === 'undefined') throw new ChatDeliveryFailed(`${name}: no token issued`);
        const seconds = Number.isFinite(fresh.seconds) ? fresh.seconds : 0;
        entry = { token: fresh.token, until: Date.now() + seconds * 1000 - TOKEN_MARGIN_MS };
        issued.set(name, entry);
      }
      try {
        return await work(entry.token);
      } catch (error) {
        issued.delete(name);
        throw error;
      }
    },
  };
}

function json(provider: string, text: string): Record<string, unknown> {
  try {
    const answer = JSON.parse(text) as unknown;
    if (typeof answer === 'object' && answer !== null) return answer as Record<string, unknown>;
  } catch {}
  throw new ChatDeliveryFailed(`${provider} answered something that is not JSON: ${text.slice(0, 200)}`);
}
