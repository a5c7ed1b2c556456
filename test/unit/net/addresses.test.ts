import { describe, expect, it } from 'vitest';
import { type AddressKind, addressKind, hostMatches, isPublicAddress } from '../../../shared/net/addresses.ts';

describe('addressKind', () => {
  it.each<[string, AddressKind]>([
    ['8.8.8.8', 'public'],
    ['52.94.76.1', 'public'],
    ['172.32.0.1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.2', 'loopback'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['::ffff:169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['FD00:EC2:0:0:0:0:0:254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::7f00:1', 'reserved'], // IPv4-compatible: not ::1, and not to be dialled
    ['64:ff9b::a9fe:a9fe', 'reserved'], // NAT64 of the metadata service
    ['2002:7f00:1::1', 'reserved'], // 6to4 of loopback
    ['192.0.2.1', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['ff02::1', 'reserved'],
    ['2130706433', 'reserved'], // not an IP: URL parsing turns it into one first
    ['not-an-ip', 'reserved'],
  ])('%s is %s', (address, kind) => {
    expect(addressKind(address)).toBe(kind);
    expect(isPublicAddress(address)).toBe(kind === 'public');
  });
});

describe('hostMatches', () => {
  it.each([
    ['hooks.slack.com', 'hooks.slack.com', true],
    ['HOOKS.slack.com', 'hooks.slack.com', false], // hosts arrive lower-cased from URL parsing
    ['hooks.slack.com', '*.slack.com', true],
    ['a.b.slack.com', '*.slack.com', true],
    ['slack.com', '*.slack.com', false],
    ['evilslack.com', '*.slack.com', false],
    ['hooks.slack.com.evil.io', 'hooks.slack.com', false],
  ])('%s against %s → %s', (host, pattern, expected) => {
    expect(hostMatches(host, pattern)).toBe(expected);
  });
});
