/**
 * Where a cluster's API server may be. Whoever registers a cluster chooses the address the
 * deployer connects to, with credentials: never this machine, its link or the cloud's metadata
 * service, so a URL cannot turn the deployer into a proxy to them. Private networks stay allowed
 * (EKS private endpoints live there), narrowed by the platform's allow-list when it sets one.
 * Checked on the URL's literal host at registration and again at connect, where every address a
 * host name resolves to is checked and only checked addresses are handed to the socket (ADR 13).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { config, ENV } from '../config.ts';
import { type AddressKind, addressKind, hostMatches, normalizeHost } from './addresses.ts';

/** Comma-separated CIDRs and host names (`*.eks.amazonaws.com`): the private addresses clusters may have. */
export const ALLOWED_NETWORKS_ENV = ENV.clusterAllowedNetworks;
/** Comma-separated `ip:port` of loopback clusters allowed all the same: the local cloud's simulator only. */
export const ALLOWED_LOOPBACK_ENV = ENV.clusterAllowLoopbackHosts;

/** A cluster's address is one Slipway must not connect to. */
export class ClusterAddressRefused extends Error {
  override name = 'ClusterAddressRefused';
}

/**
 * Why the URL may not be a cluster's address (at registration), or undefined. Only what the URL
 * itself says is judged: an IP literal in any spelling the URL parser accepts, or `localhost`;
 * other host names are judged on what they resolve to, at connect.
 */
export function clusterUrlRefusal(raw: string): string | undefined {
  const refusal = literalRefusal(raw);
  const host = normalizeHost(new URL(raw).hostname);
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is a loopback name`;
  return refusal;
}

/**
 * At connect: an IP literal is refused here, before any socket exists; a host name is checked by
 * clusterLookup as the socket resolves it.
 */
export function assertClusterUrl(raw: string): void {
  const refusal = literalRefusal(raw);
  if (refusal) throw new ClusterAddressRefused(refusal);
}

/**
 * The socket's DNS lookup for cluster connections: resolves as the system does, refuses when any
 * address is not allowed (the system might pick that one), and answers only checked addresses,
 * so no second lookup can rebind the name between the check and the connect.
 */
export const clusterLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '');
    let refused: Error | undefined;
    try {
      for (const { address } of addresses) {
        const refusal = clusterAddressRefusal(hostname, address);
        if (!refusal) continue;
        refused = new ClusterAddressRefused(`${normalizeHost(hostname)} resolves to ${address}, ${refusal}`);
        break;
      }
    } catch (failure) {
      refused = failure as Error;
    }
    const [first] = addresses as [LookupAddress];
    if (refused) callback(refused, '');
    else if (options.all) callback(null, addresses);
    else callback(null, first.address, first.family);
  });
};

/** Why `address`, which `host` is or resolves to, may not be connected to; undefined when it may. */
export function clusterAddressRefusal(host: string, address: string): string | undefined {
  return addressRefusal(currentPolicy(), normalizeHost(host), address);
}

/** Reads the policy first, so a misconfigured one fails every check, not only those of IP literals. */
function literalRefusal(raw: string): string | undefined {
  const policy = currentPolicy();
  const url = new URL(raw);
  const host = normalizeHost(url.hostname);
  if (isIP(host) === 0 || policy.loopback.has(url.host)) return undefined;
  const refusal = clusterAddressRefusal(host, host);
  return refusal && `${host} is ${refusal}`;
}

interface Policy {
  /** Private networks allowed; undefined when the platform set no allow-list (every private address). */
  networks: BlockList | undefined;
  /** Host name patterns whose private addresses are allowed. */
  hosts: string[];
  /** URL hosts (`127.0.0.1:6443`, as URL.host writes them) allowed although loopback. */
  loopback: Set<string>;
}

const KIND_WORDS: Record<Exclude<AddressKind, 'public' | 'private'>, string> = {
  loopback: 'a loopback address',
  unspecified: 'an unspecified address',
  'link-local': 'a link-local address',
  metadata: "the cloud's metadata service",
  reserved: 'a reserved address',
};

/** Why `address` (what `host` is or resolves to) is refused, or undefined. */
function addressRefusal(policy: Policy, host: string, address: string): string | undefined {
  const kind = addressKind(address);
  if (kind === 'public') return undefined;
  if (kind !== 'private') return KIND_WORDS[kind];
  if (!policy.networks) return undefined;
  if (policy.networks.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6')) return undefined;
  if (policy.hosts.some((pattern) => hostMatches(host, pattern))) return undefined;
  return "a private address outside the platform's allowed cluster networks";
}

let cached: { key: string; policy: Policy } | undefined;

/** Read at each use (parsed once per value), as the other settings are: the environment is the configuration. */
function currentPolicy(): Policy {
  const networks = config.clusterAllowedNetworks;
  const loopback = config.clusterAllowLoopbackHosts;
  const key = `${networks}\n${loopback}`;
  if (cached?.key !== key) cached = { key, policy: parsePolicy(networks, loopback) };
  return cached.policy;
}

function parsePolicy(networksText: string, loopbackText: string): Policy {
  return { ...parseAllowedNetworks(networksText), loopback: new Set(listEntries(loopbackText).map(loopbackHost)) };
}

const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

/**
 * The allow-list: CIDRs (`10.20.0.0/16`, `fd12::/48`), single addresses and host names
 * (`*.eks.amazonaws.com`). Anything else is a configuration error, named (infra/aws checks it at synth).
 */
export function parseAllowedNetworks(text: string): Pick<Policy, 'networks' | 'hosts'> {
  const listed = listEntries(text);
  const networks = new BlockList();
  const hosts: string[] = [];
  for (const entry of listed) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = Number(prefix ?? (family === 4 ? 32 : 128));
    if (
      family !== 0 &&
      extra === undefined &&
      Number.isInteger(bits) &&
      bits >= 0 &&
      bits <= (family === 4 ? 32 : 128)
    ) {
      networks.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
    } else if (prefix === undefined && HOST_PATTERN.test(entry)) {
      hosts.push(entry.toLowerCase());
    } else {
      throw new Error(`${ALLOWED_NETWORKS_ENV}: "${entry}" is neither a CIDR nor a host name`);
    }
  }
  return { networks: listed.length > 0 ? networks : undefined, hosts };
}

function listEntries(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** `127.0.0.1:6443` as URL.host writes it; anything but a loopback IP with its port is a configuration error. */
function loopbackHost(entry: string): string {
  const url = URL.parse(`https://${entry}`);
  const host = url && normalizeHost(url.hostname);
  if (!url || !host || !/:\d+$/.test(entry) || isIP(host) === 0 || addressKind(host) !== 'loopback') {
    throw new Error(`${ALLOWED_LOOPBACK_ENV}: "${entry}" is not a loopback ip:port`);
  }
  return url.host;
}
