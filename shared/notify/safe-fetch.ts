/**
 * The notifier's only way onto the network. Webhook URLs come from configuration that people edit,
 * so a typo or a hostile entry must not turn the function into a proxy to the VPC or the instance
 * metadata service: only listed hosts, only public addresses (checked after DNS and pinned for the
 * connection, so a second lookup cannot rebind), no redirects, bounded time and answer size.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { hostMatches, isPublicAddress, normalizeHost } from '../net/addresses.ts';

/** Chat platforms' webhook hosts: what a channel may post to unless the configuration says otherwise. */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = [
  'hooks.slack.com',
  'open.feishu.cn',
  'open.larksuite.com',
  'oapi.dingtalk.com',
  'qyapi.weixin.qq.com',
  // Bot APIs (interactive approval messages, ADR 31); Feishu/Lark and WeCom serve both from one host.
  'slack.com',
  'api.dingtalk.com',
];

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

/** A message did not reach a chat (or a Git provider): refused here, or the provider did not accept it. */
export class ChatDeliveryFailed extends Error {
  /** The provider's HTTP status when it answered with one that is not 2xx (4xx: do not send it again). */
  readonly status: number | undefined;
  /** The provider's own error code when it gave one (Feishu `code`, DingTalk and WeCom `errcode`, Slack's body). */
  readonly code: string | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number; code?: string }) {
    super(message, options);
    this.name = 'ChatDeliveryFailed';
    this.status = options?.status;
    this.code = options?.code;
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Host name to every address it resolves to (tests inject one; the default asks the system resolver). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SafePostOptions {
  /** Exact host names, or `*.example.com` for any subdomain of example.com. */
  allowedHosts: readonly string[];
  /** Whole exchange, DNS included. */
  timeoutMs: number;
  /** Hosts (same patterns) that may resolve to private addresses and be reached over plain http: local receivers. */
  allowPrivate?: readonly string[];
  maxResponseBytes?: number;
  resolve?: Resolver;
  /** Extra request headers (a provider token); they never reach an error message. */
  headers?: Readonly<Record<string, string>>;
  /** POST unless said otherwise: bot APIs update messages with PUT or PATCH and issue tokens on GET. */
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH';
}

export interface SafeResponse {
  status: number;
  /** The answer's body as text, at most maxResponseBytes. */
  text: string;
}

/**
 * Sends `body` as JSON to `url` (POST, or `options.method`; a GET sends no body) under the rules
 * above; any refusal or non-2xx answer is a ChatDeliveryFailed.
 */
export async function safePost(url: string, body: unknown, options: SafePostOptions): Promise<SafeResponse> {
  const target = parseTarget(url);
  const local = matchesAny(target.host, options.allowPrivate ?? []);
  if (!matchesAny(target.host, options.allowedHosts)) {
    throw new ChatDeliveryFailed(`Host ${target.host} is not in the allowed hosts`);
  }
  if (target.url.protocol !== 'https:' && !(target.url.protocol === 'http:' && local)) {
    throw new ChatDeliveryFailed(`Host ${target.host} must be reached over https`);
  }

  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const pinned = await untilAborted(resolvePublic(target.host, local, options.resolve ?? systemResolver), signal);
    const json = options.method === 'GET' ? undefined : JSON.stringify(body);
    return await exchange(target, pinned, json, signal, options);
  } catch (error) {
    if (error instanceof ChatDeliveryFailed) throw error;
    if (signal.aborted) {
      throw new ChatDeliveryFailed(`${target.host} did not answer within ${options.timeoutMs} ms`, { cause: error });
    }
    throw new ChatDeliveryFailed(`POST to ${target.host} failed: ${(error as Error).message}`, { cause: error });
  }
}

interface Target {
  url: URL;
  /** Lower case, no brackets around IPv6 literals, no trailing dot. */
  host: string;
}

function parseTarget(raw: string): Target {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ChatDeliveryFailed('The webhook URL is not a valid URL');
  }
  if (url.username || url.password) throw new ChatDeliveryFailed('The webhook URL must not carry credentials');
  return { url, host: normalizeHost(url.hostname) };
}

function matchesAny(host: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => hostMatches(host, pattern));
}

const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })) as ResolvedAddress[];

/** One address to connect to; refused if ANY address is private, since the system might have picked that one. */
async function resolvePublic(host: string, local: boolean, resolve: Resolver): Promise<ResolvedAddress> {
  const family = isIP(host);
  const addresses = family === 0 ? await resolve(host) : [{ address: host, family: family as 4 | 6 }];
  const first = addresses[0];
  if (!first) throw new ChatDeliveryFailed(`Host ${host} did not resolve to any address`);
  const internal = addresses.find((entry) => !isPublicAddress(entry.address));
  if (internal && !local) {
    throw new ChatDeliveryFailed(`Host ${host} resolves to the non-public address ${internal.address}`);
  }
  return first;
}

/** Connects to the checked address whatever name the URL holds: the socket never asks DNS again. */
function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) (callback as (e: null, all: ResolvedAddress[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
}

function exchange(
  target: Target,
  pinned: ResolvedAddress,
  json: string | undefined,
  signal: AbortSignal,
  { maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES, headers, method = 'POST' }: SafePostOptions,
): Promise<SafeResponse> {
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  const options: RequestOptions = {
    method,
    lookup: pinnedLookup(pinned),
    // A fresh connection per message: nothing pooled outlives the check that allowed it.
    agent: false,
    signal,
    headers: {
      ...(json === undefined
        ? {}
        : { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) }),
      'user-agent': 'slipway-notifier',
      ...headers,
    },
  };
  return new Promise((resolve, reject) => {
    const req = send(target.url, options, (res) => {
      readAnswer(target.host, res, maxResponseBytes).then(resolve, reject);
    });
    req.on('error', reject);
    req.end(json);
  });
}

async function readAnswer(host: string, res: IncomingMessage, maxBytes: number): Promise<SafeResponse> {
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400) {
    res.destroy();
    const location = String(res.headers.location ?? '(none)').slice(0, 200);
    throw new ChatDeliveryFailed(`${host} answered ${status} redirecting to ${location}; redirects are not followed`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      res.destroy();
      throw new ChatDeliveryFailed(`${host} answered more than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (status < 200 || status >= 300) {
    // Slack answers a refused webhook with its error code as the plain-text body (`no_service`, `invalid_token`).
    const code = /^[a-z_]{1,64}$/.test(text.trim()) ? text.trim() : undefined;
    throw new ChatDeliveryFailed(`${host} answered HTTP ${status}: ${text.slice(0, 200)}`, {
      status,
      ...(code ? { code } : {}),
    });
  }
  return { status, text };
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason);
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}
