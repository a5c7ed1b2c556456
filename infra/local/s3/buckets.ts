/**
 * The local S3's storage: buckets, objects and Object Lock retention, in memory or under a folder
 * (`<dir>/<bucket>/bucket.json`, and per object `<sha256 of key>.json` for its metadata beside
 * `.bin` for its bytes). S3's rules for what a request may do live here; server.ts speaks the
 * REST-XML protocol around them.
 *
 * Differences from AWS, on purpose: no versioning. An object under retention can neither be
 * deleted nor overwritten (AccessDenied); on AWS, whose Object Lock buckets are versioned, an
 * overwrite adds a version and a DeleteObject without a version id adds a delete marker, while the
 * locked version stays. Either way the locked bytes survive.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsServiceError } from '../aws-endpoint.ts';

export type RetentionMode = 'COMPLIANCE' | 'GOVERNANCE';

export interface Retention {
  mode: RetentionMode;
  /** ISO 8601 instant. */
  retainUntil: string;
}

export interface BucketConfig {
  objectLock: boolean;
  /** Applied to new objects that name no retention of their own (PutObjectLockConfiguration's rule). */
  defaultRetention?: { mode: RetentionMode; days: number };
}

export interface StoredObject {
  key: string;
  size: number;
  /** Quoted hex MD5, as S3 answers for a single-part upload. */
  etag: string;
  contentType: string;
  /** Epoch milliseconds. */
  lastModified: number;
  metadata: Record<string, string>;
  retention?: Retention;
}

export interface NewObject {
  body: Buffer;
  contentType?: string;
  metadata?: Record<string, string>;
  retention?: Retention;
  /** `If-None-Match: *`: only if no object has this key. */
  ifNoneMatch?: boolean;
}

export interface ListRequest {
  prefix?: string;
  delimiter?: string;
  /** List keys after this one (StartAfter, or where a continuation token left off). */
  after?: string;
  maxKeys: number;
}

export interface ListResult {
  objects: StoredObject[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last key or common prefix this page covered: where the next page starts. */
  last?: string;
}

interface Bucket {
  name: string;
  created: number;
  config: BucketConfig;
  objects: Map<string, StoredObject>;
  /** Bytes when in memory; on disk otherwise. */
  bodies: Map<string, Buffer>;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export class LocalBuckets {
  readonly #dir: string | undefined;
  readonly #buckets = new Map<string, Bucket>();

  constructor(dir?: string) {
    this.#dir = dir;
    if (dir) for (const name of safeReaddir(dir)) this.#load(name);
  }

  /** Creates the bucket, or answers BucketAlreadyOwnedByYou as S3 does for a second create. */
  create(name: string, config: BucketConfig): void {
    if (!BUCKET_NAME.test(name)) throw new AwsServiceError('InvalidBucketName', 'The specified bucket is not valid.');
    if (this.#buckets.has(name)) {
      throw new AwsServiceError(
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
        409,
      );
    }
    const bucket: Bucket = { name, created: Date.now(), config, objects: new Map(), bodies: new Map() };
    this.#buckets.set(name, bucket);
    this.#write(bucket, 'bucket.json', JSON.stringify({ created: bucket.created, config }));
  }

  /** Creates the bucket unless it exists (the local cloud's own buckets, on every start). */
  ensure(name: string, config: BucketConfig): void {
    if (!this.#buckets.has(name)) this.create(name, config);
  }

  config(name: string): BucketConfig {
    return this.#bucket(name).config;
  }

  put(bucketName: string, key: string, object: NewObject, now = Date.now()): StoredObject {
    const bucket = this.#bucket(bucketName);
    validKey(key);
    const existing = bucket.objects.get(key);
    if (object.ifNoneMatch && existing) {
      throw new AwsServiceError(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        412,
      );
    }
    if (existing && retained(existing, now)) {
      throw new AwsServiceError('AccessDenied', 'Access Denied because object protected by object lock.', 403);
    }
    const retention = object.retention ?? defaultRetention(bucket.config, now);
    if (retention && !bucket.config.objectLock) {
      throw new AwsServiceError('InvalidRequest', 'Bucket is missing Object Lock Configuration');
    }
    if (retention && Date.parse(retention.retainUntil) <= now) {
      throw new AwsServiceError('InvalidArgument', 'The retain until date must be in the future!');
    }
    const stored: StoredObject = {
      key,
      size: object.body.length,
      etag: `"${createHash('md5').update(object.body).digest('hex')}"`,
      contentType: object.contentType ?? 'application/octet-stream',
      lastModified: now,
      metadata: object.metadata ?? {},
      ...(retention ? { retention } : {}),
    };
    bucket.objects.set(key, stored);
    if (this.#dir) {
      this.#write(bucket, `${fileOf(key)}.bin`, object.body);
      this.#write(bucket, `${fileOf(key)}.json`, JSON.stringify(stored));
    } else bucket.bodies.set(key, object.body);
    return stored;
  }

  head(bucketName: string, key: string): StoredObject {
    const object = this.#bucket(bucketName).objects.get(key);
    if (!object) throw new AwsServiceError('NoSuchKey', 'The specified key does not exist.', 404);
    return object;
  }

  get(bucketName: string, key: string): { object: StoredObject; body: Buffer } {
    const object = this.head(bucketName, key);
    const bucket = this.#bucket(bucketName);
    const body = this.#dir ? readFileSync(join(this.#dir, bucket.name, `${fileOf(key)}.bin`)) : bucket.bodies.get(key);
    return { object, body: body ?? Buffer.alloc(0) };
  }

  /** Deleting a missing key succeeds, as on S3; a retained one is refused. */
  delete(bucketName: string, key: string, now = Date.now()): void {
    const bucket = this.#bucket(bucketName);
    const object = bucket.objects.get(key);
    if (!object) return;
    if (retained(object, now)) {
      throw new AwsServiceError('AccessDenied', 'Access Denied because object protected by object lock.', 403);
    }
    bucket.objects.delete(key);
    bucket.bodies.delete(key);
    if (this.#dir) {
      for (const ext of ['.json', '.bin'])
        rmSync(join(this.#dir, bucket.name, `${fileOf(key)}${ext}`), { force: true });
    }
  }

  /** ListObjectsV2's semantics: keys in UTF-8 binary order, a delimiter rolls keys up into common prefixes. */
  list(bucketName: string, request: ListRequest): ListResult {
    const bucket = this.#bucket(bucketName);
    const prefix = request.prefix ?? '';
    const keys = [...bucket.objects.keys()]
      .filter((key) => key.startsWith(prefix) && (request.after === undefined || byBytes(key, request.after) > 0))
      .sort(byBytes);
    const objects: StoredObject[] = [];
    const commonPrefixes: string[] = [];
    let last: string | undefined;
    for (const key of keys) {
      const cut = request.delimiter ? key.indexOf(request.delimiter, prefix.length) : -1;
      const rolledUp = cut >= 0 ? key.slice(0, cut + (request.delimiter as string).length) : undefined;
      if (rolledUp !== undefined && rolledUp === commonPrefixes.at(-1)) continue;
      if (objects.length + commonPrefixes.length === request.maxKeys)
        return { objects, commonPrefixes, truncated: true, last };
      if (rolledUp === undefined) objects.push(bucket.objects.get(key) as StoredObject);
      else commonPrefixes.push(rolledUp);
      // The next page starts after everything under a common prefix.
      last = rolledUp === undefined ? key : `${rolledUp}\u{10ffff}`;
    }
    return { objects, commonPrefixes, truncated: false, last };
  }

  #bucket(name: string): Bucket {
    const bucket = this.#buckets.get(name);
    if (!bucket) throw new AwsServiceError('NoSuchBucket', 'The specified bucket does not exist', 404);
    return bucket;
  }

  #write(bucket: Bucket, file: string, content: string | Buffer): void {
    if (!this.#dir) return;
    const path = join(this.#dir, bucket.name, file);
    mkdirSync(join(this.#dir, bucket.name), { recursive: true });
    // Write then rename: a crash never leaves a half-written object.
    writeFileSync(`${path}.tmp`, content);
    renameSync(`${path}.tmp`, path);
  }

  #load(name: string): void {
    const dir = join(this.#dir as string, name);
    let saved: { created: number; config: BucketConfig };
    try {
      saved = JSON.parse(readFileSync(join(dir, 'bucket.json'), 'utf8'));
    } catch {
      return; // not a bucket folder
    }
    const bucket: Bucket = { name, ...saved, objects: new Map(), bodies: new Map() };
    for (const file of safeReaddir(dir).filter((f) => f.endsWith('.json') && f !== 'bucket.json')) {
      const object = JSON.parse(readFileSync(join(dir, file), 'utf8')) as StoredObject;
      bucket.objects.set(object.key, object);
    }
    this.#buckets.set(name, bucket);
  }
}

const retained = (object: StoredObject, now: number): boolean =>
  object.retention !== undefined && Date.parse(object.retention.retainUntil) > now;

function defaultRetention(config: BucketConfig, now: number): Retention | undefined {
  const rule = config.defaultRetention;
  if (!rule) return undefined;
  return { mode: rule.mode, retainUntil: new Date(now + rule.days * 86_400_000).toISOString() };
}

function validKey(key: string): void {
  if (key.length === 0 || Buffer.byteLength(key) > 1024) {
    throw new AwsServiceError('KeyTooLongError', 'Your key is too long');
  }
}

/** S3 orders keys by their UTF-8 bytes. */
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

const fileOf = (key: string): string => createHash('sha256').update(key).digest('hex');

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
