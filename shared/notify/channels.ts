/**
 * Chat channels: one message shape, one adapter per provider that turns it into that provider's
 * webhook payload (and signature), posts it through safePost, and reads the provider's own error
 * answer. Feishu, DingTalk and WeCom answer HTTP 200 with an error code in the body, so a 200 alone
 * is not a delivery.
 */
import { createHmac } from 'node:crypto';
import { ChatDeliveryFailed, type Resolver, safePost } from './safe-fetch.ts';

export const CHAT_KINDS = ['slack', 'feishu', 'dingtalk', 'wecom'] as const;
export type ChatKind = (typeof CHAT_KINDS)[number];

export type Severity = 'info' | 'success' | 'warning' | 'failure';

export interface ChatMessage {
  title: string;
  /** Plain-text lines separated by `\n`; `code` spans are the only markup. Adapters escape the rest. */
  text: string;
  fields?: [name: string, value: string][];
  link?: { label: string; url: string };
  severity: Severity;
  /** A quiet last line saying where the message comes from. */
  footer?: string;
}

export interface ChatChannel {
  kind: ChatKind;
  send(message: ChatMessage): Promise<void>;
}

export interface ChannelTarget {
  url: string;
  /** Signing secret (Feishu, DingTalk); Slack and WeCom carry their key in the URL. */
  secret?: string;
}

/** Where and how long a channel may post: passed through to safePost. */
export interface DeliveryPolicy {
  allowedHosts: readonly string[];
  allowPrivate?: readonly string[];
  timeoutMs: number;
  resolve?: Resolver;
}

export function createChannel(kind: ChatKind, target: ChannelTarget, policy: DeliveryPolicy): ChatChannel {
  return { kind, send: (message) => adapters[kind](message, target, policy) };
}

type Adapter = (message: ChatMessage, target: ChannelTarget, policy: DeliveryPolicy) => Promise<void>;

const adapters: Record<ChatKind, Adapter> = {
  slack: async (message, target, policy) => {
    await safePost(target.url, slackPayload(message), policy);
  },
  feishu: async (message, target, policy) => {
    const signature = target.secret ? feishuSignature(target.secret, Math.floor(Date.now() / 1000)) : {};
    const answer = await safePost(target.url, { ...signature, ...feishuPayload(message) }, policy);
    expectZero('Feishu', answer.text, ['code', 'StatusCode'], ['msg', 'StatusMessage']);
  },
  dingtalk: async (message, target, policy) => {
    const answer = await safePost(signedDingTalkUrl(target), dingTalkPayload(message), policy);
    expectZero('DingTalk', answer.text, ['errcode'], ['errmsg']);
  },
  wecom: async (message, target, policy) => {
    const answer = await safePost(target.url, weComPayload(message), policy);
    expectZero('WeCom', answer.text, ['errcode'], ['errmsg']);
  },
};

const severityMark: Record<Severity, string> = { info: 'ℹ️', success: '✅', warning: '⚠️', failure: '❌' };

/**
 * Message text holds what people wrote (names, reasons, comments, images): it must reach chat as
 * text, never as a link or a mention (ADR 17); only `message.link`, the platform's own, is one. On
 * every platform `://` gets full-width slashes, so no client links a URL, and an `@` that starts a
 * word gets a full-width look-alike, so `@all` calls nobody. Then each platform's markup is escaped.
 */
export const defanged = (text: string) => text.replace(/:\/\//g, ':／／').replace(/(?<!\w)@/g, '＠');

/** Slack mrkdwn: `&`, `<`, `>` as entities (Slack's rule), so `<https://x|click>` and `<!channel>` stay text. */
export const slackText = (text: string) =>
  defanged(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack's own parsing of mrkdwn (links from bare URLs, names, mentions) stays off: `verbatim`. */
export const mrkdwn = (text: string) => ({ type: 'mrkdwn', text, verbatim: true });

/** Titles also go where nothing is markup (headers, notifications): defanged, and escaped where markup is read. */
export const heading = (message: ChatMessage) => `${severityMark[message.severity]} ${defanged(message.title)}`;

// Slack: Block Kit limits (header 150, section text 3000, field 2000, 10 fields, button label 75).
export function slackPayload(message: ChatMessage) {
  const blocks: unknown[] = [{ type: 'header', text: { type: 'plain_text', text: clip(heading(message), 150) } }];
  if (message.text) blocks.push({ type: 'section', text: mrkdwn(clip(slackText(message.text), 3000)) });
  if (message.fields?.length) {
    const fields = message.fields
      .slice(0, 10)
      .map(([name, value]) => mrkdwn(clip(`*${slackText(name)}*\n${slackText(value)}`, 2000)));
    blocks.push({ type: 'section', fields });
  }
  if (message.link) {
    const button = {
      type: 'button',
      text: { type: 'plain_text', text: clip(message.link.label, 75) },
      url: message.link.url,
    };
    blocks.push({ type: 'actions', elements: [button] });
  }
  if (message.footer) blocks.push({ type: 'context', elements: [mrkdwn(slackText(message.footer))] });
  // `text` is what notifications and screen readers show (mrkdwn too: the title is escaped as well).
  const fallback = slackText(`${heading(message)}${message.text ? `\n${message.text}` : ''}`);
  return { text: clip(fallback, 3000), blocks };
}

const feishuTemplate: Record<Severity, string> = { info: 'blue', success: 'green', warning: 'orange', failure: 'red' };

// Feishu/Lark: an interactive card (JSON 1.0 layout).
export function feishuPayload(message: ChatMessage) {
  const markdown = (content: string) => ({ tag: 'lark_md', content });
  const elements: unknown[] = [];
  if (message.text) elements.push({ tag: 'div', text: markdown(clip(markdownText(message.text), 4000)) });
  if (message.fields?.length) {
    const fields = message.fields.map(([name, value]) => ({
      is_short: true,
      text: markdown(clip(`**${markdownText(name)}**\n${markdownText(value)}`, 1000)),
    }));
    elements.push({ tag: 'div', fields });
  }
  if (message.link) {
    const button = {
      tag: 'button',
      text: { tag: 'plain_text', content: message.link.label },
      type: 'primary',
      url: message.link.url,
    };
    elements.push({ tag: 'action', actions: [button] });
  }
  if (message.footer)
    elements.push({ tag: 'note', elements: [{ tag: 'plain_text', content: defanged(message.footer) }] });
  return {
    msg_type: 'interactive',
    card: {
      config: { wide_screen_mode: true },
      header: { template: feishuTemplate[message.severity], title: { tag: 'plain_text', content: heading(message) } },
      elements,
    },
  };
}

/** Feishu: the key is `timestamp\nsecret` and the signed message is empty; timestamp in seconds. */
function feishuSignature(secret: string, timestamp: number) {
  const sign = createHmac('sha256', `${timestamp}\n${secret}`).update('').digest('base64');
  return { timestamp: String(timestamp), sign };
}

/** DingTalk: HMAC of `timestamp\nsecret` with the secret as key, timestamp in ms, both as query parameters. */
function signedDingTalkUrl(target: ChannelTarget): string {
  if (!target.secret) return target.url;
  const url = new URL(target.url);
  const timestamp = String(Date.now());
  const sign = createHmac('sha256', target.secret).update(`${timestamp}\n${target.secret}`).digest('base64');
  url.searchParams.set('timestamp', timestamp);
  url.searchParams.set('sign', sign); // URLSearchParams does the urlencode
  return url.toString();
}

/**
 * Feishu lark_md, DingTalk and WeCom markdown: `[` opens a link or an image, `<` a tag, an autolink
 * or a mention (`<at id=all>`, `<@userid>`), `&` an entity that could decode to one. Full-width
 * look-alikes keep them text however the platform decodes (backslash escapes are not documented there).
 */
const FULL_WIDTH: Record<string, string> = { '&': '＆', '<': '＜', '>': '＞', '[': '［', ']': '］' };
export const markdownText = (text: string) => defanged(text).replace(/[&<>[\]]/g, (c) => FULL_WIDTH[c] ?? c);

/** Markdown body shared by DingTalk and WeCom: bold title, the lines, then `**Name**: value` lines. */
export function markdownBody(message: ChatMessage, paragraph: string): string {
  const parts = [`**${markdownText(heading(message))}**`];
  if (message.text) parts.push(...markdownText(message.text).split('\n'));
  for (const [name, value] of message.fields ?? []) parts.push(`**${markdownText(name)}**: ${markdownText(value)}`);
  if (message.footer) parts.push(markdownText(message.footer));
  return parts.join(paragraph);
}

// DingTalk: markdown, or an actionCard when there is a link (its button). Single newlines collapse there.
function dingTalkPayload(message: ChatMessage) {
  const title = clip(heading(message), 100);
  const text = clip(markdownBody(message, '\n\n'), 5000);
  if (!message.link) return { msgtype: 'markdown', markdown: { title, text } };
  return {
    msgtype: 'actionCard',
    actionCard: { title, text, btnOrientation: '0', singleTitle: message.link.label, singleURL: message.link.url },
  };
}

// WeCom: markdown content of at most 4096 bytes; the link goes last as a markdown link.
export function weComPayload(message: ChatMessage) {
  let content = markdownBody(message, '\n');
  // A parenthesis in the URL would end the markdown link early.
  const url = message.link?.url.replace(/\(/g, '%28').replace(/\)/g, '%29');
  if (message.link) content += `\n[${markdownText(message.link.label)}](${url})`;
  return { msgtype: 'markdown', markdown: { content: clipBytes(content, 4096) } };
}

/** Reads a provider's JSON answer and fails unless its status code is 0. */
export function expectZero(provider: string, text: string, codeKeys: string[], messageKeys: string[]): void {
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ChatDeliveryFailed(`${provider} answered something that is not JSON: ${text.slice(0, 200)}`);
  }
  const code = codeKeys.map((key) => answer?.[key]).find((value) => value !== undefined);
  if (code === 0) return;
  const reason = messageKeys.map((key) => answer?.[key]).find((value) => value !== undefined);
  throw new ChatDeliveryFailed(
    `${provider} refused the message: code ${String(code)}, ${String(reason ?? 'no reason')}`,
    code === undefined ? {} : { code: String(code).slice(0, 64) },
  );
}

export function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

export function clipBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  let bytes = Buffer.byteLength('…');
  for (const char of text) {
    bytes += Buffer.byteLength(char);
    if (bytes > maxBytes) break;
    out += char;
  }
  return `${out}…`;
}
