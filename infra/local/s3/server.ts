/**
 * The local S3's wire protocol (REST-XML, path-style `/<bucket>/<key>`), served on the one local
 * AWS endpoint for requests that carry no `X-Amz-Target`: point AWS_ENDPOINT_URL_S3 there and give
 * @aws-sdk/client-s3 `forcePathStyle`. Operations: CreateBucket (with
 * `x-amz-bucket-object-lock-enabled`), HeadBucket, GetObjectLockConfiguration, ListObjectsV2,
 * PutObject (Object Lock headers, `If-None-Match: *`, Content-MD5, aws-chunked bodies), GetObject,
 * HeadObject, GetObjectRetention and DeleteObject. Signatures are not checked. Anything else
 * answers NotImplemented.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsServiceError } from '../aws-endpoint.ts';
import { readBody } from '../request-body.ts';
import type { LocalBuckets, Retention, StoredObject } from './buckets.ts';

/** Bodies up to this size; S3 takes 5 GB in one PUT, local logs and checkpoints need far less. */
const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export type RestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function s3Handler(buckets: LocalBuckets): RestHandler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [bucket = '', ...rest] = url.pathname.slice(1).split('/');
    const key = decodeURIComponent(rest.join('/'));
    const query = url.searchParams;
    try {
      if (bucket === '') throw notImplemented();
      await (key === '' ? bucketOperation : objectOperation)(buckets, req, res, decodeURIComponent(bucket), key, query);
    } catch (error) {
      if (!(error instanceof AwsServiceError)) throw error;
      sendError(req, res, error, url.pathname);
    }
  };
}

type Operation = (
  buckets: LocalBuckets,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  key: string,
  query: URLSearchParams,
) => Promise<void>;

const bucketOperation: Operation = async (buckets, req, res, bucket, _key, query) => {
  if (req.method === 'PUT' && [...query.keys()].length === 0) {
    await body(req); // CreateBucketConfiguration (the region) changes nothing here
    buckets.create(bucket, { objectLock: header(req, 'x-amz-bucket-object-lock-enabled') === 'true' });
    return send(res, 200, { location: `/${bucket}` });
  }
  if (req.method === 'HEAD') {
    buckets.config(bucket);
    return send(res, 200);
  }
  if (req.method === 'GET' && query.has('object-lock')) return sendXml(res, objectLockConfiguration(buckets, bucket));
  if (req.method === 'GET' && query.get('list-type') === '2')
    return sendXml(res, listObjectsV2(buckets, bucket, query));
  throw notImplemented();
};

const objectOperation: Operation = async (buckets, req, res, bucket, key, query) => {
  const subresources = [...query.keys()].filter((name) => !name.startsWith('x-id'));
  if (req.method === 'PUT' && subresources.length === 0 && header(req, 'x-amz-copy-source') === undefined) {
    const stored = buckets.put(bucket, key, {
      body: await objectBody(req),
      ...optional('contentType', header(req, 'content-type')),
      metadata: userMetadata(req),
      ...optional('retention', retentionOf(req)),
      ifNoneMatch: header(req, 'if-none-match') === '*',
    });
    return send(res, 200, { etag: stored.etag });
  }
  if (req.method === 'GET' && subresources.length === 1 && query.has('retention')) {
    const { retention } = buckets.head(bucket, key);
    if (!retention)
      throw new AwsServiceError(
        'NoSuchObjectLockConfiguration',
        'The specified object does not have a ObjectLock configuration',
        404,
      );
    return sendXml(
      res,
      `<Retention xmlns="${XMLNS}"><Mode>${retention.mode}</Mode><RetainUntilDate>${retention.retainUntil}</RetainUntilDate></Retention>`,
    );
  }
  if ((req.method === 'GET' || req.method === 'HEAD') && subresources.length === 0) {
    if (req.method === 'HEAD') return send(res, 200, objectHeaders(buckets.head(bucket, key)));
    const { object, body } = buckets.get(bucket, key);
    return send(res, 200, objectHeaders(object), body);
  }
  if (req.method === 'DELETE' && subresources.length === 0) {
    buckets.delete(bucket, key);
    return send(res, 204);
  }
  throw notImplemented();
};

function listObjectsV2(buckets: LocalBuckets, bucket: string, query: URLSearchParams): string {
  const maxKeys = Math.min(Number(query.get('max-keys') ?? 1000), 1000);
  if (!Number.isInteger(maxKeys) || maxKeys < 0)
    throw new AwsServiceError('InvalidArgument', 'Provided max-keys not an integer or within integer range');
  const token = query.get('continuation-token');
  const startAfter = query.get('start-after') ?? undefined;
  const after = token === null ? startAfter : continuationKey(token);
  const prefix = query.get('prefix') ?? undefined;
  const delimiter = query.get('delimiter') ?? undefined;
  const page = buckets.list(bucket, {
    ...optional('prefix', prefix),
    ...optional('delimiter', delimiter),
    ...optional('after', after),
    maxKeys,
  });
  const contents = page.objects.map(
    (o) =>
      `<Contents><Key>${xml(o.key)}</Key><LastModified>${new Date(o.lastModified).toISOString()}</LastModified><ETag>${xml(o.etag)}</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
  );
  const prefixes = page.commonPrefixes.map((p) => `<CommonPrefixes><Prefix>${xml(p)}</Prefix></CommonPrefixes>`);
  return [
    `<ListBucketResult xmlns="${XMLNS}">`,
    `<Name>${xml(bucket)}</Name><Prefix>${xml(prefix ?? '')}</Prefix>`,
    delimiter === undefined ? '' : `<Delimiter>${xml(delimiter)}</Delimiter>`,
    `<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${contents.length + prefixes.length}</KeyCount>`,
    `<IsTruncated>${page.truncated}</IsTruncated>`,
    token === null ? '' : `<ContinuationToken>${xml(token)}</ContinuationToken>`,
    startAfter === undefined ? '' : `<StartAfter>${xml(startAfter)}</StartAfter>`,
    page.truncated && page.last !== undefined
      ? `<NextContinuationToken>${Buffer.from(page.last).toString('base64url')}</NextContinuationToken>`
      : '',
    ...contents,
    ...prefixes,
    '</ListBucketResult>',
  ].join('');
}

function continuationKey(token: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  if (token === '' || Buffer.from(key).toString('base64url') !== token) {
    throw new AwsServiceError('InvalidArgument', 'The continuation token provided is incorrect');
  }
  return key;
}

function objectLockConfiguration(buckets: LocalBuckets, bucket: string): string {
  const config = buckets.config(bucket);
  if (!config.objectLock) {
    throw new AwsServiceError(
      'ObjectLockConfigurationNotFoundError',
      'Object Lock configuration does not exist for this bucket',
      404,
    );
  }
  const rule = config.defaultRetention
    ? `<Rule><DefaultRetention><Mode>${config.defaultRetention.mode}</Mode><Days>${config.defaultRetention.days}</Days></DefaultRetention></Rule>`
    : '';
  return `<ObjectLockConfiguration xmlns="${XMLNS}"><ObjectLockEnabled>Enabled</ObjectLockEnabled>${rule}</ObjectLockConfiguration>`;
}

function retentionOf(req: IncomingMessage): Retention | undefined {
  const mode = header(req, 'x-amz-object-lock-mode');
  const until = header(req, 'x-amz-object-lock-retain-until-date');
  if (mode === undefined && until === undefined) return undefined;
  if (mode !== 'COMPLIANCE' && mode !== 'GOVERNANCE') {
    throw new AwsServiceError('InvalidArgument', 'Unknown wormMode directive.');
  }
  if (until === undefined || Number.isNaN(Date.parse(until))) {
    throw new AwsServiceError(
      'InvalidArgument',
      'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
    );
  }
  // As on S3: a retention is only taken with an integrity check of the bytes it protects.
  if (
    header(req, 'content-md5') === undefined &&
    !Object.keys(req.headers).some((h) => h.startsWith('x-amz-checksum-') || h === 'x-amz-trailer')
  ) {
    throw new AwsServiceError(
      'InvalidRequest',
      'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
    );
  }
  return { mode, retainUntil: new Date(until).toISOString() };
}

/** The object's bytes: aws-chunked bodies (the SDK's streaming uploads) decoded, Content-MD5 checked. */
async function objectBody(req: IncomingMessage): Promise<Buffer> {
  const raw = await body(req);
  const chunked =
    (header(req, 'content-encoding') ?? '').includes('aws-chunked') ||
    (header(req, 'x-amz-content-sha256') ?? '').startsWith('STREAMING-');
  const bytes = chunked ? decodeAwsChunked(raw) : raw;
  const md5 = header(req, 'content-md5');
  if (md5 !== undefined && createHash('md5').update(bytes).digest('base64') !== md5) {
    throw new AwsServiceError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  return bytes;
}

/** `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0\r\n` then optional trailers. */
function decodeAwsChunked(raw: Buffer): Buffer {
  const chunks: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd < 0) throw new AwsServiceError('IncompleteBody', 'The aws-chunked body ended early.');
    const size = Number.parseInt(raw.subarray(at, lineEnd).toString('latin1').split(';')[0] as string, 16);
    if (!Number.isInteger(size)) throw new AwsServiceError('InvalidRequest', 'Malformed aws-chunked body.');
    if (size === 0) return Buffer.concat(chunks);
    chunks.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const bytes = await readBody(req, MAX_OBJECT_BYTES);
  if (bytes === undefined)
    throw new AwsServiceError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
  return bytes;
}

function objectHeaders(object: StoredObject): Record<string, string> {
  return {
    'content-type': object.contentType,
    'content-length': String(object.size),
    etag: object.etag,
    'last-modified': new Date(object.lastModified).toUTCString(),
    'accept-ranges': 'bytes',
    ...Object.fromEntries(Object.entries(object.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value])),
    ...(object.retention
      ? {
          'x-amz-object-lock-mode': object.retention.mode,
          'x-amz-object-lock-retain-until-date': object.retention.retainUntil,
        }
      : {}),
  };
}

function userMetadata(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice('x-amz-meta-'.length)] = value;
  }
  return metadata;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

const optional = <K extends string, V>(name: K, value: V | undefined): Partial<Record<K, V>> =>
  value === undefined ? {} : ({ [name]: value } as Record<K, V>);

const notImplemented = () =>
  new AwsServiceError(
    'NotImplemented',
    'A header or query you provided implies functionality that the local S3 does not implement.',
    501,
  );

function send(res: ServerResponse, status: number, headers: Record<string, string> = {}, content?: Buffer): void {
  res.writeHead(status, {
    'x-amz-request-id': randomUUID(),
    ...headers,
    ...(content === undefined && !headers['content-length'] ? { 'content-length': '0' } : {}),
  });
  res.end(content);
}

function sendXml(res: ServerResponse, document: string): void {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${document}`;
  send(
    res,
    200,
    { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(text)) },
    Buffer.from(text),
  );
}

/** S3's error document; a HEAD gets the status alone, as S3 sends it. */
function sendError(req: IncomingMessage, res: ServerResponse, error: AwsServiceError, resource: string): void {
  if (res.headersSent) return;
  const requestId = randomUUID();
  if (req.method === 'HEAD') {
    res.writeHead(error.status, { 'x-amz-request-id': requestId, 'content-length': '0' });
    return void res.end();
  }
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.name}</Code><Message>${xml(error.message)}</Message><Resource>${xml(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`;
  res.writeHead(error.status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(text),
    'x-amz-request-id': requestId,
  });
  res.end(text);
}

const xml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
