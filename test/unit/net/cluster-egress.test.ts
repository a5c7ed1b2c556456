import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ALLOWED_LOOPBACK_ENV,
  ALLOWED_NETWORKS_ENV,
  assertClusterUrl,
  ClusterAddressRefused,
  clusterAddressRefusal,
  clusterUrlRefusal,
} from '../../../shared/net/cluster-egress.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('a cluster URL at registration', () => {
  // The WHATWG parser (what undici connects with) turns every IPv4 spelling into a dotted quad first.
  it.each([
    ['https://127.0.0.1:6443', '127.0.0.1 is a loopback address'],
    ['https://127.1', '127.0.0.1 is a loopback address'],
    ['https://2130706433', '127.0.0.1 is a loopback address'],
    ['https://0x7f.1', '127.0.0.1 is a loopback address'],
    ['https://0x7f000001', '127.0.0.1 is a loopback address'],
    ['https://0177.0.0.1', '127.0.0.1 is a loopback address'],
    ['https://017700000001', '127.0.0.1 is a loopback address'],
    ['https://127.000.000.001', '127.0.0.1 is a loopback address'],
    ['https://%31%32%37.0.0.1', '127.0.0.1 is a loopback address'],
    ['https://127.0.0.1.', '127.0.0.1 is a loopback address'],
    ['https://[::1]', '::1 is a loopback address'],
    ['https://[::ffff:127.0.0.1]', '::ffff:7f00:1 is a loopback address'],
    ['https://[0:0:0:0:0:ffff:7f00:1]', '::ffff:7f00:1 is a loopback address'],
    ['https://localhost:6443', 'localhost is a loopback name'],
    ['https://LOCALHOST.', 'localhost is a loopback name'],
    ['https://api.localhost', 'api.localhost is a loopback name'],
    ['https://0', '0.0.0.0 is an unspecified address'],
    ['https://0.0.0.0', '0.0.0.0 is an unspecified address'],
    ['https://[::]', ':: is an unspecified address'],
    ['https://169.254.10.10', '169.254.10.10 is a link-local address'],
    ['https://[fe80::1]', 'fe80::1 is a link-local address'],
    ['https://169.254.169.254', "169.254.169.254 is the cloud's metadata service"],
    ['https://0xa9.0xfe.0xa9.0xfe', "169.254.169.254 is the cloud's metadata service"],
    ['https://2852039166', "169.254.169.254 is the cloud's metadata service"],
    ['https://[::ffff:169.254.169.254]', "::ffff:a9fe:a9fe is the cloud's metadata service"],
    ['https://[fd00:ec2::254]', "fd00:ec2::254 is the cloud's metadata service"],
    ['https://[::127.0.0.1]', '::7f00:1 is a reserved address'],
    ['https://[64:ff9b::169.254.169.254]', '64:ff9b::a9fe:a9fe is a reserved address'],
    ['https://224.0.0.1', '224.0.0.1 is a reserved address'],
  ])('%s is refused: %s', (url, refusal) => {
    expect(clusterUrlRefusal(url)).toBe(refusal);
  });

  it.each([
    'https://abc.gr7.eu-west-1.eks.amazonaws.com',
    'https://52.1.2.3',
    'https://10.0.0.5:6443',
    'https://172.20.0.1',
    'https://192.168.49.2:8443',
    'https://100.64.1.1',
    'https://[fd12:3456::1]',
    'https://k8s.internal', // a host name is judged on what it resolves to, at connect
  ])('%s is allowed', (url) => {
    expect(clusterUrlRefusal(url)).toBeUndefined();
  });
});

describe('the local cloud allowance', () => {
  it('allows exactly the listed loopback ip:port, in any spelling of that address, and nothing near it', () => {
    vi.stubEnv(ALLOWED_LOOPBACK_ENV, '127.0.0.1:6443, [::1]:7443');
    expect(clusterUrlRefusal('https://127.0.0.1:6443')).toBeUndefined();
    expect(clusterUrlRefusal('https://127.1:6443/')).toBeUndefined();
    expect(clusterUrlRefusal('https://[::1]:7443')).toBeUndefined();
    expect(clusterUrlRefusal('https://127.0.0.1:6444')).toBe('127.0.0.1 is a loopback address');
    expect(clusterUrlRefusal('https://127.0.0.1')).toBe('127.0.0.1 is a loopback address');
    expect(clusterUrlRefusal('https://127.0.0.2:6443')).toBe('127.0.0.2 is a loopback address');
    expect(clusterUrlRefusal('https://[::ffff:127.0.0.1]:6443')).toBe('::ffff:7f00:1 is a loopback address');
    expect(clusterUrlRefusal('https://localhost:6443')).toBe('localhost is a loopback name');
    // A name is never allowed on loopback, whatever it resolves to.
    expect(clusterAddressRefusal('localhost', '127.0.0.1')).toBe('a loopback address');
  });

  it.each(['169.254.169.254:80', '10.0.0.1:6443', 'localhost:6443', '127.0.0.1', 'https://127.0.0.1:6443'])(
    'refuses to start with %s listed: only loopback ip:port may be',
    (entry) => {
      vi.stubEnv(ALLOWED_LOOPBACK_ENV, entry);
      expect(() => clusterUrlRefusal('https://k8s.example.com')).toThrow(ALLOWED_LOOPBACK_ENV);
    },
  );
});

describe('the allowed cluster networks', () => {
  it('without a list, every private address is allowed', () => {
    expect(clusterAddressRefusal('k8s.internal', '10.9.8.7')).toBeUndefined();
    expect(clusterAddressRefusal('k8s.internal', 'fd12::1')).toBeUndefined();
  });

  it('a list narrows the private addresses to its networks and host names, and never widens', () => {
    vi.stubEnv(ALLOWED_NETWORKS_ENV, '10.1.0.0/16, fd12:3456::/32, 192.168.7.7, *.eks.amazonaws.com, 127.0.0.0/8');
    const outside = "a private address outside the platform's allowed cluster networks";
    expect(clusterAddressRefusal('k8s.internal', '10.1.200.3')).toBeUndefined();
    expect(clusterAddressRefusal('k8s.internal', 'fd12:3456::9')).toBeUndefined();
    expect(clusterAddressRefusal('k8s.internal', '192.168.7.7')).toBeUndefined();
    expect(clusterAddressRefusal('abc.gr7.eu-west-1.eks.amazonaws.com', '172.20.4.4')).toBeUndefined();
    expect(clusterAddressRefusal('k8s.internal', '10.2.0.1')).toBe(outside);
    expect(clusterAddressRefusal('k8s.internal', '192.168.7.8')).toBe(outside);
    expect(clusterAddressRefusal('eks.amazonaws.com.evil.io', '172.20.4.4')).toBe(outside);
    expect(clusterUrlRefusal('https://10.2.0.1')).toBe(`10.2.0.1 is ${outside}`);
    // Public addresses are not narrowed; loopback and metadata stay refused even when a CIDR covers them.
    expect(clusterAddressRefusal('k8s.example.com', '52.1.2.3')).toBeUndefined();
    expect(clusterAddressRefusal('k8s.internal', '127.0.0.1')).toBe('a loopback address');
    expect(clusterAddressRefusal('x.eks.amazonaws.com', '169.254.169.254')).toBe("the cloud's metadata service");
  });

  it.each(['10.0.0.0/33', 'fd00::/129', '10.0.0.0/8/1', 'https://k8s.example.com', 'bad host!'])(
    'refuses to start with %s listed',
    (entry) => {
      vi.stubEnv(ALLOWED_NETWORKS_ENV, entry);
      expect(() => clusterUrlRefusal('https://k8s.example.com')).toThrow(ALLOWED_NETWORKS_ENV);
    },
  );
});

describe('a cluster URL at connect', () => {
  it('refuses an IP literal by name (a host name is left to the socket lookup)', () => {
    expect(() => assertClusterUrl('https://0x7f.1:6443')).toThrow(
      new ClusterAddressRefused('127.0.0.1 is a loopback address'),
    );
    expect(() => assertClusterUrl('https://localhost:6443')).not.toThrow();
    expect(() => assertClusterUrl('https://10.0.0.1')).not.toThrow();
  });
});
