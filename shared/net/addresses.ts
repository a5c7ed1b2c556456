/**
 * What an IP address is, for every outbound connection Slipway makes to an address someone
 * configured (chat webhooks, cluster API servers): one classification, so the notifier and the
 * deployer cannot disagree on what "the metadata service" or "loopback" is.
 */
import { BlockList, isIP } from 'node:net';

/**
 * - `public`: the internet
 * - `private`: networks of one organisation (RFC 1918, carrier-grade NAT, IPv6 unique local): VPCs live there
 * - `loopback`, `unspecified`, `link-local`: this machine or its link
 * - `metadata`: the cloud's instance services (IMDS, its DNS and time servers)
 * - `reserved`: documentation, benchmarking, multicast, broadcast, translation prefixes, and anything not an IP
 */
export type AddressKind = 'public' | 'private' | 'loopback' | 'unspecified' | 'link-local' | 'metadata' | 'reserved';

type Ranges = readonly (readonly [network: string, prefix: number])[];

/** Checked in this order, first match wins: metadata lies inside link-local and unique local. */
const KINDS: readonly (readonly [Exclude<AddressKind, 'public'>, Ranges])[] = [
  [
    'metadata',
    [
      ['169.254.169.254', 32], // IMDS
      ['169.254.169.253', 32], // Amazon DNS
      ['169.254.169.123', 32], // Amazon Time Sync
      ['169.254.170.2', 32], // ECS task metadata and credentials
      ['fd00:ec2::', 64], // IMDS fd00:ec2::254, DNS ::253, time ::123 over IPv6 (Nitro)
    ],
  ],
  [
    'loopback',
    [
      ['127.0.0.0', 8],
      ['::1', 128],
    ],
  ],
  [
    'unspecified',
    [
      ['0.0.0.0', 8],
      ['::', 128],
    ],
  ],
  [
    'link-local',
    [
      ['169.254.0.0', 16],
      ['fe80::', 10],
    ],
  ],
  [
    'private',
    [
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
      ['100.64.0.0', 10], // carrier-grade NAT; also EKS secondary CIDRs
      ['fc00::', 7], // unique local
    ],
  ],
  [
    'reserved',
    [
      ['192.0.0.0', 24],
      ['192.0.2.0', 24],
      ['198.18.0.0', 15],
      ['198.51.100.0', 24],
      ['203.0.113.0', 24],
      ['224.0.0.0', 4], // multicast
      ['240.0.0.0', 4], // reserved and broadcast
      ['::', 96], // IPv4-compatible (deprecated): ::7f00:1 is not ::1, but nobody should dial it
      ['64:ff9b::', 96], // NAT64 can reach private IPv4
      ['64:ff9b:1::', 48],
      ['100::', 64],
      ['2001::', 32], // Teredo
      ['2001:db8::', 32],
      ['2002::', 16], // 6to4
      ['fec0::', 10],
      ['ff00::', 8],
    ],
  ],
];

/** IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`, `::ffff:7f00:1`) match as the IPv4 they carry: BlockList does that. */
const lists = KINDS.map(([kind, ranges]) => {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, isIP(network) === 4 ? 'ipv4' : 'ipv6');
  return [kind, list] as const;
});

export function addressKind(address: string): AddressKind {
  const family = isIP(address);
  if (family === 0) return 'reserved';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return lists.find(([, list]) => list.check(address, type))?.[0] ?? 'public';
}

export const isPublicAddress = (address: string): boolean => addressKind(address) === 'public';

/** A URL's host as compared everywhere: lower case, no brackets around IPv6 literals, no trailing dot. */
export function normalizeHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/** `hooks.slack.com` matches itself; `*.slack.com` matches its subdomains (not slack.com itself). */
export function hostMatches(host: string, pattern: string): boolean {
  const wanted = normalizeHost(pattern);
  if (wanted.startsWith('*.')) return host.endsWith(wanted.slice(1));
  return host === wanted;
}
