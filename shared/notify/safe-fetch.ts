/**
 * The notifier's only way onto the network. Webhook URLs come from configuration that people edit,
 * so a typo or a hostile entry must not turn the function into a proxy to the VPC or the instance
 * metadata service: only listed hosts, only public addresses (checked after DNS and pinned for the
 * connection, so a second lookup cannot rebind), no redirects, bounded time and answer size.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Chat platforms' webhook hosts: what a channel may post to unless the configuration says otherwise. */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = [
  'hooks.slack.com',
  'open.feishu.cn',
  'open.larksuite.com',
  'oapi.dingtalk.com',
  'qyapi.weixin.qq.com',
];

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

/** A message did not reach a chat: refused here, or the provider did not accept it. */
export class ChatDeliveryFailed extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChatDeliveryFailed';
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
}

export interface SafeResponse {
  status: number;
  /** The answer's body as text, at most maxResponseBytes. */
  text: string;
}

/** POSTs `body` as JSON to `url` under the rules above; any refusal or non-2xx answer is a ChatDeliveryFailed. */
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
    return await exchange(target, pinned, JSON.stringify(body), signal, options.maxResponseBytes);
  } catch (error) {
    if (error instanceof ChatDeliveryFailed) throw error;
    if (signal.aborted) {
      throw new ChatDeliveryFailed(`${target.host} did not answer within ${options.timeoutMs} ms`, { cause: error });
    }
    throw new ChatDeliveryFailed(`POST to ${target.host} failed: ${(error as Error).message}`, { cause: error });
  }
}

/** `hooks.slack.com` matches itself; `*.slack.com` matches its subdomains (not slack.com itself). */
export function hostMatches(host: string, pattern: string): boolean {
  const wanted = normalizeHost(pattern);
  if (wanted.startsWith('*.')) return host.endsWith(wanted.slice(1));
  return host === wanted;
}

/** True for addresses a webhook must never reach: loopback, private, link-local (metadata), ULA, and the like. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Every range that is not the public internet (IPv4-mapped IPv6 addresses are checked as IPv4 by BlockList). */
const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, includes the metadata service 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64 can reach private IPv4
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7], // unique local, includes the IPv6 metadata service fd00:ec2::254
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
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

function normalizeHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
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
  const internal = addresses.find((entry) => isPrivateAddress(entry.address));
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
  json: string,
  signal: AbortSignal,
  maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES,
): Promise<SafeResponse> {
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  const options: RequestOptions = {
    method: 'POST',
    lookup: pinnedLookup(pinned),
    // A fresh connection per message: nothing pooled outlives the check that allowed it.
    agent: false,
    signal,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(json),
      'user-agent': 'slipway-notifier',
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
    throw new ChatDeliveryFailed(`${host} answered HTTP ${status}: ${text.slice(0, 200)}`);
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
