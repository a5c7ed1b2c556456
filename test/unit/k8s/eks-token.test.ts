import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eksToken } from '../../../shared/k8s/credentials.ts';

// AWS's documented example key pair: fixed credentials make the signature a pure function of the input.
const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'FwoGZXIvYXdzE+session/token==',
};
const signingDate = new Date('2026-11-02T10:15:30Z');
const input = { clusterName: 'prod-eu', region: 'eu-west-1', credentials, signingDate };

function decode(token: string): URL {
  expect(token.startsWith('k8s-aws-v1.')).toBe(true);
  const encoded = token.slice('k8s-aws-v1.'.length);
  expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
  return new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
}

/** SigV4 computed here from AWS's specification, independently of @smithy/signature-v4. */
function expectedSignature(url: URL, clusterName: string, secretAccessKey: string): string {
  const rfc3986 = (text: string) =>
    encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = [...url.searchParams]
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`)
    .sort()
    .join('&');
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const canonical = [
    'GET',
    '/',
    query,
    `host:${url.hostname}\nx-k8s-aws-id:${clusterName}\n`,
    'host;x-k8s-aws-id',
    sha256(''),
  ].join('\n');
  const amzDate = url.searchParams.get('X-Amz-Date') ?? '';
  const scope = `${amzDate.slice(0, 8)}/eu-west-1/sts/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  let key = hmac(`AWS4${secretAccessKey}`, amzDate.slice(0, 8));
  for (const part of ['eu-west-1', 'sts', 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

describe('EKS token', () => {
  it('is a presigned GetCallerIdentity URL on the regional STS endpoint, valid 60 s, bound to the cluster', async () => {
    const url = decode(await eksToken(input));
    expect(url.protocol).toBe('https:');
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('Version')).toBe('2011-06-15');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20261102T101530Z');
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261102/eu-west-1/sts/aws4_request');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe(credentials.sessionToken);
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual(['host', 'x-k8s-aws-id']);
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('carries the signature STS computes for the same request', async () => {
    const url = decode(await eksToken(input));
    expect(url.searchParams.get('X-Amz-Signature')).toBe(
      expectedSignature(url, 'prod-eu', credentials.secretAccessKey),
    );
  });

  it('is reproducible with the same credentials and clock, and differs per cluster and per second', async () => {
    const token = await eksToken(input);
    expect(await eksToken(input)).toBe(token);
    const otherCluster = decode(await eksToken({ ...input, clusterName: 'prod-us' }));
    expect(otherCluster.searchParams.get('X-Amz-Signature')).not.toBe(
      decode(token).searchParams.get('X-Amz-Signature'),
    );
    const later = await eksToken({ ...input, signingDate: new Date(signingDate.getTime() + 1000) });
    expect(later).not.toBe(token);
  });

  it('omits the session token when the credentials have none', async () => {
    const url = decode(await eksToken({ ...input, credentials: { ...credentials, sessionToken: undefined } }));
    expect(url.searchParams.has('X-Amz-Security-Token')).toBe(false);
    expect(url.searchParams.get('X-Amz-Signature')).toBe(
      expectedSignature(url, 'prod-eu', credentials.secretAccessKey),
    );
  });
});
