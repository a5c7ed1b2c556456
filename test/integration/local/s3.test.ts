/**
 * The local S3 through the real @aws-sdk/client-s3 (path-style): buckets with Object Lock,
 * objects under compliance retention that can be neither deleted nor overwritten, conditional
 * writes, ListObjectsV2 paging, metadata and persistence in its folder. It shares the one local
 * AWS endpoint with the JSON-protocol services.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '../../../infra/local/aws-endpoint.ts';
import { LocalBuckets } from '../../../infra/local/s3/buckets.ts';
import { s3Handler } from '../../../infra/local/s3/server.ts';
import { createLocalSecrets } from '../../../infra/local/secrets.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'slipway-s3-'));
const LOCKED = 'locked-bucket';
const PLAIN = 'plain-bucket';

let endpoint: AwsEndpoint;
let s3: S3Client;

const start = async () =>
  startAwsEndpoint({
    services: { secretsmanager: createLocalSecrets({ region: 'eu-west-1', accountId: '123456789012' }).service },
    rest: s3Handler(new LocalBuckets(dataDir)),
  });

const clientFor = (at: AwsEndpoint) =>
  new S3Client({
    endpoint: at.url,
    forcePathStyle: true,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });

beforeAll(async () => {
  endpoint = await start();
  s3 = clientFor(endpoint);
  await s3.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
  await s3.send(new CreateBucketCommand({ Bucket: PLAIN }));
});

afterAll(async () => {
  s3?.destroy();
  await endpoint?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const inADay = () => new Date(Date.now() + 86_400_000);
const put = (input: Omit<PutObjectCommandInput, 'Body'> & { Body: string }) => s3.send(new PutObjectCommand(input));
const text = async (Bucket: string, Key: string) =>
  (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body?.transformToString();

describe('local S3', () => {
  it('stores and returns an object with its type, metadata and ETag; HEAD answers the same without the body', async () => {
    const out = await put({
      Bucket: PLAIN,
      Key: 'builds/b1/log.txt',
      Body: 'step 1 ok\n',
      ContentType: 'text/plain',
      Metadata: { build: 'b1' },
    });
    expect(out.ETag).toBe(`"${createHash('md5').update('step 1 ok\n').digest('hex')}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: PLAIN, Key: 'builds/b1/log.txt' }));
    expect(await got.Body?.transformToString()).toBe('step 1 ok\n');
    expect(got).toMatchObject({
      ContentType: 'text/plain',
      ContentLength: 10,
      ETag: out.ETag,
      Metadata: { build: 'b1' },
    });
    const head = await s3.send(new HeadObjectCommand({ Bucket: PLAIN, Key: 'builds/b1/log.txt' }));
    expect(head).toMatchObject({ ContentLength: 10, ETag: out.ETag });
    // A streamed body goes aws-chunked, with its checksum in a trailer.
    await s3.send(
      new PutObjectCommand({
        Bucket: PLAIN,
        Key: 'builds/b1/streamed.txt',
        Body: Readable.from([Buffer.from('chunk one, '), Buffer.from('chunk two')]),
        ContentLength: 20,
      }),
    );
    expect(await text(PLAIN, 'builds/b1/streamed.txt')).toBe('chunk one, chunk two');
    await expect(s3.send(new GetObjectCommand({ Bucket: PLAIN, Key: 'nope' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    await expect(s3.send(new HeadObjectCommand({ Bucket: PLAIN, Key: 'nope' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    await expect(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' }))).rejects.toMatchObject({
      name: 'NoSuchBucket',
    });
  });

  it('keeps an object under compliance retention: it can be read, but not deleted nor overwritten', async () => {
    const retainUntil = inADay();
    await put({
      Bucket: LOCKED,
      Key: 'checkpoints/1.json',
      Body: '{"n":1}',
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: retainUntil,
      ChecksumAlgorithm: 'SHA256',
    });
    const head = await s3.send(new HeadObjectCommand({ Bucket: LOCKED, Key: 'checkpoints/1.json' }));
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    expect(head.ObjectLockRetainUntilDate?.toISOString()).toBe(retainUntil.toISOString());
    const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: LOCKED, Key: 'checkpoints/1.json' }));
    expect(retention.Retention).toMatchObject({ Mode: 'COMPLIANCE' });

    await expect(s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'checkpoints/1.json' }))).rejects.toMatchObject(
      {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      },
    );
    await expect(put({ Bucket: LOCKED, Key: 'checkpoints/1.json', Body: '{"n":"forged"}' })).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    expect(await text(LOCKED, 'checkpoints/1.json')).toBe('{"n":1}');
  });

  it('refuses retention where S3 does: a bucket without Object Lock, a date in the past, no checksum', async () => {
    const lock = { ObjectLockMode: 'COMPLIANCE' as const, ChecksumAlgorithm: 'SHA256' as const };
    await expect(
      put({ Bucket: PLAIN, Key: 'x', Body: 'x', ...lock, ObjectLockRetainUntilDate: inADay() }),
    ).rejects.toMatchObject({ name: 'InvalidRequest' });
    await expect(
      put({ Bucket: LOCKED, Key: 'x', Body: 'x', ...lock, ObjectLockRetainUntilDate: new Date(Date.now() - 1000) }),
    ).rejects.toMatchObject({ name: 'InvalidArgument' });
    const noChecksum = new S3Client({
      endpoint: endpoint.url,
      forcePathStyle: true,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    try {
      // The SDK adds a checksum itself whenever the operation requires one: strip it to see the refusal.
      noChecksum.middlewareStack.add(
        (next) => (args) => {
          const headers = (args.request as { headers: Record<string, string> }).headers;
          for (const name of Object.keys(headers))
            if (/^(x-amz-checksum-|x-amz-sdk-checksum|content-md5)/i.test(name)) delete headers[name];
          return next(args);
        },
        { step: 'finalizeRequest', name: 'stripChecksums' },
      );
      await expect(
        noChecksum.send(
          new PutObjectCommand({
            Bucket: LOCKED,
            Key: 'x',
            Body: 'x',
            ObjectLockMode: 'COMPLIANCE',
            ObjectLockRetainUntilDate: inADay(),
          }),
        ),
      ).rejects.toMatchObject({ name: 'InvalidRequest' });
    } finally {
      noChecksum.destroy();
    }
  });

  it('writes only to a free key with If-None-Match: *, and deletes what is not retained', async () => {
    await put({ Bucket: PLAIN, Key: 'once', Body: 'first', IfNoneMatch: '*' });
    await expect(put({ Bucket: PLAIN, Key: 'once', Body: 'second', IfNoneMatch: '*' })).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
    expect(await text(PLAIN, 'once')).toBe('first');
    await put({ Bucket: PLAIN, Key: 'once', Body: 'overwritten' });
    expect(await text(PLAIN, 'once')).toBe('overwritten');
    await s3.send(new DeleteObjectCommand({ Bucket: PLAIN, Key: 'once' }));
    await expect(s3.send(new GetObjectCommand({ Bucket: PLAIN, Key: 'once' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    await s3.send(new DeleteObjectCommand({ Bucket: PLAIN, Key: 'once' })); // a missing key deletes fine, as on S3
  });

  it('applies the bucket default retention to objects that name none', async () => {
    const buckets = new LocalBuckets();
    buckets.create('defaulted', { objectLock: true, defaultRetention: { mode: 'COMPLIANCE', days: 7 } });
    const stored = buckets.put('defaulted', 'k', { body: Buffer.from('v') });
    expect(stored.retention?.mode).toBe('COMPLIANCE');
    expect(() => buckets.delete('defaulted', 'k')).toThrow(expect.objectContaining({ name: 'AccessDenied' }));
    // And after the retention has passed, it goes.
    buckets.delete('defaulted', 'k', Date.now() + 8 * 86_400_000);
    expect(() => buckets.head('defaulted', 'k')).toThrow(expect.objectContaining({ name: 'NoSuchKey' }));
  });

  it('lists keys in order by prefix, page by page (continuation token and start-after), with delimiters', async () => {
    const keys = Array.from({ length: 7 }, (_, i) => `logs/run-${i}.txt`);
    for (const Key of [...keys].reverse()) await put({ Bucket: PLAIN, Key, Body: Key });
    await put({ Bucket: PLAIN, Key: 'logs/archive/old.txt', Body: 'old' });
    await put({ Bucket: PLAIN, Key: 'other/x.txt', Body: 'x' });

    const seen: string[] = [];
    let ContinuationToken: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: PLAIN, Prefix: 'logs/run-', MaxKeys: 3, ContinuationToken }),
      );
      pages++;
      expect(page.KeyCount).toBe(page.Contents?.length);
      seen.push(...(page.Contents ?? []).map((o) => o.Key as string));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    expect(seen).toEqual(keys);
    expect(pages).toBe(3);

    const after = await s3.send(
      new ListObjectsV2Command({ Bucket: PLAIN, Prefix: 'logs/', StartAfter: 'logs/run-4.txt' }),
    );
    expect(after.Contents?.map((o) => o.Key)).toEqual(['logs/run-5.txt', 'logs/run-6.txt']);

    const folders = await s3.send(new ListObjectsV2Command({ Bucket: PLAIN, Prefix: 'logs/', Delimiter: '/' }));
    expect(folders.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['logs/archive/']);
    expect(folders.Contents?.map((o) => o.Key)).toEqual(keys);
    const first = folders.Contents?.[0];
    expect(first?.Size).toBe('logs/run-0.txt'.length);
    expect(first?.LastModified).toBeInstanceOf(Date);

    await expect(
      s3.send(new ListObjectsV2Command({ Bucket: PLAIN, ContinuationToken: 'not a token' })),
    ).rejects.toMatchObject({ name: 'InvalidArgument' });
  });

  it('reports the bucket’s Object Lock configuration', async () => {
    const config = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: LOCKED }));
    expect(config.ObjectLockConfiguration?.ObjectLockEnabled).toBe('Enabled');
    await expect(s3.send(new GetObjectLockConfigurationCommand({ Bucket: PLAIN }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('keeps buckets, objects and their retention in its folder across a restart', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: LOCKED,
        Key: 'kept.json',
        Body: '{"kept":true}',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: inADay(),
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    const restarted = await start();
    const other = clientFor(restarted);
    try {
      const got = await other.send(new GetObjectCommand({ Bucket: LOCKED, Key: 'kept.json' }));
      expect(await got.Body?.transformToString()).toBe('{"kept":true}');
      expect(got.ObjectLockMode).toBe('COMPLIANCE');
      await expect(other.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'kept.json' }))).rejects.toMatchObject({
        name: 'AccessDenied',
      });
    } finally {
      other.destroy();
      await restarted.close();
    }
  });

  it('shares the endpoint with the JSON protocol services', async () => {
    const reply = await fetch(endpoint.url, {
      method: 'POST',
      headers: { 'x-amz-target': 'secretsmanager.CreateSecret', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ Name: 'beside-s3', SecretString: 'v' }),
    });
    expect(reply.status).toBe(200);
  });
});
