/**
 * Signed checkpoints of the audit chains, through the local cloud: a platform admin asks for one
 * (POST /audit/checkpoints → outbox → bus → the checkpointer, which alone signs with the KMS key
 * and writes to the Object Lock bucket), and /audit/verify compares every chain with the newest
 * validly signed checkpoint. The attacker is a database writer: a DynamoDB client of the test's
 * own that cuts chains short, rewrites them with every hash recomputed, moves heads; and someone
 * with write access to the bucket who adds forged checkpoints.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { CreateKeyCommand, GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEntry, hashOf } from '../../../shared/audit/chain.ts';
import { type Checkpoint, checkpointKey, signedBytes } from '../../../shared/audit/checkpoint.ts';
import { auditKeys, chainOf as partitionOf } from '../../../shared/audit/keys.ts';
import { present } from '../../../shared/store/records.ts';
import { alterEntry, chainOf as chainIn, change, deliver, q, raw } from '../audit-log.ts';
import { type Client, client } from '../client.ts';
import type { TestCloud } from '../harness.ts';
import { adminSession, bodies, create, unique } from '../seed.ts';

let cloud: TestCloud;
let admin: Client;
let project: { id: string };
let s3: S3Client;
let kms: KMSClient;

const bucket = () => process.env.SLIPWAY_AUDIT_BUCKET as string;
const chainOf = (n: number) => chainIn(project.id, n);
const append = async (subject: string, from: number, to: number) => {
  for (let n = from; n <= to; n++) await deliver(change(project.id, subject, n));
};

beforeAll(async () => {
  ({ cloud, admin } = await adminSession());
  project = await create(admin, '/api/v1/projects', bodies.project());
  const aws = {
    endpoint: cloud.services.endpoint.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  };
  s3 = new S3Client({ ...aws, forcePathStyle: true });
  kms = new KMSClient(aws);
});
afterAll(async () => {
  s3?.destroy();
  kms?.destroy();
  await cloud?.stop();
});

/** Asks for a checkpoint and waits until the checkpointer has written it: the newest checkpoint answers the request. */
async function checkpointNow(reason = 'test'): Promise<{ key: string; number: number }> {
  const reply = await admin.post('/api/v1/audit/checkpoints', { reason });
  expect(reply.status, reply.text).toBe(202);
  expect(reply.headers.get('location')).toBe('/api/v1/audit/checkpoints/latest');
  return answered(reply.body.event_id);
}

/** Waits until the newest checkpoint answers the request `eventId` (ask for the next one only after it). */
async function answered(eventId: string): Promise<{ key: string; number: number }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const latest = await admin.get('/api/v1/audit/checkpoints/latest');
    if (latest.status === 200 && latest.body.request?.event_id === eventId) return latest.body;
    if (Date.now() > deadline) throw new Error(`No checkpoint answered ${eventId}: ${latest.text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const verifyChain = async (subject: string) => {
  const reply = await admin.get(`/api/v1/audit/verify?${q({ subject })}`);
  expect(reply.status, reply.text).toBe(200);
  return reply.body;
};

async function entriesOf(subject: string): Promise<AuditEntry[]> {
  const out = await raw.send(
    new QueryCommand({
      TableName: process.env.TABLE_NAME,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :entry)',
      ExpressionAttributeValues: { ':pk': partitionOf(subject), ':entry': 'ENTRY#' },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map((item) => present<AuditEntry>(item));
}

/** The database writer moves a head so the chain looks whole. */
const moveHead = (subject: string, seq: number, hash: string) =>
  raw.send(
    new UpdateCommand({
      TableName: process.env.TABLE_NAME,
      Key: auditKeys.head(subject),
      UpdateExpression: 'SET seq = :seq, #hash = :hash',
      ExpressionAttributeNames: { '#hash': 'hash' },
      ExpressionAttributeValues: { ':seq': seq, ':hash': hash },
    }),
  );

/** Deletes the last entries down to `seq` and moves the head back: the chain alone still verifies. */
async function truncate(subject: string, seq: number): Promise<void> {
  const entries = await entriesOf(subject);
  for (const entry of entries.filter((e) => e.seq > seq)) {
    await raw.send(new DeleteCommand({ TableName: process.env.TABLE_NAME, Key: auditKeys.entry(subject, entry.seq) }));
  }
  await moveHead(subject, seq, (entries.find((e) => e.seq === seq) as AuditEntry).hash);
}

/** Changes entry `seq`'s data and recomputes its hash and every later one, and the head: the chain alone still verifies. */
async function rewrite(subject: string, seq: number, extra: AuditEntry[] = []): Promise<void> {
  const stored = await entriesOf(subject);
  let previous: string | undefined;
  let last: AuditEntry | undefined;
  for (const entry of [...stored, ...extra].sort((a, b) => a.seq - b.seq)) {
    if (entry.seq < seq) {
      previous = entry.hash;
      continue;
    }
    const { hash: _old, ...content } = entry;
    const data = entry.seq === seq ? { ...(entry.data as object), forged: true } : entry.data;
    const forged = { ...content, prev_hash: previous ?? content.prev_hash, data };
    last = { ...forged, hash: hashOf(forged) };
    previous = last.hash;
    if (stored.some((e) => e.seq === entry.seq)) {
      await raw.send(
        new UpdateCommand({
          TableName: process.env.TABLE_NAME,
          Key: auditKeys.entry(subject, entry.seq),
          UpdateExpression: 'SET #data = :data, prev_hash = :prev, #hash = :hash',
          ExpressionAttributeNames: { '#data': 'data', '#hash': 'hash' },
          ExpressionAttributeValues: { ':data': last.data, ':prev': last.prev_hash, ':hash': last.hash },
        }),
      );
    } else {
      const item = { ...auditKeys.entry(subject, entry.seq), ...last };
      await raw.send(new PutCommand({ TableName: process.env.TABLE_NAME, Item: item }));
    }
  }
  await moveHead(subject, (last as AuditEntry).seq, (last as AuditEntry).hash);
}

async function readCheckpoint(key: string): Promise<Checkpoint> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
  return JSON.parse((await out.Body?.transformToString()) as string) as Checkpoint;
}

describe('a checkpoint', () => {
  it('records every chain head, signed with the KMS key: anyone can check it with the public key alone', async () => {
    const subject = await chainOf(3);
    const { key, number } = await checkpointNow('quarterly audit');
    const checkpoint = await readCheckpoint(key);
    expect(key).toBe(checkpointKey(number));
    expect(checkpoint).toMatchObject({
      number,
      trigger: 'request',
      request: { actor: 'root', reason: 'quarterly audit' },
    });
    const entries = await entriesOf(subject);
    expect(checkpoint.chains).toContainEqual({ subject, seq: 3, hash: entries.at(-1)?.hash, project_id: project.id });

    const { PublicKey, KeyId } = await kms.send(new GetPublicKeyCommand({ KeyId: process.env.SLIPWAY_AUDIT_KEY_ID }));
    const publicKey = createPublicKey({ key: Buffer.from(PublicKey as Uint8Array), format: 'der', type: 'spki' });
    const { signature, ...body } = checkpoint;
    expect(signature).toMatchObject({ key_id: KeyId, algorithm: 'ECDSA_SHA_256' });
    expect(verify('sha256', signedBytes(body), publicKey, Buffer.from(signature.value, 'base64'))).toBe(true);

    const report = await verifyChain(subject);
    expect(report).toEqual({
      subject,
      entries: 3,
      valid: true,
      checkpoint: {
        key,
        number,
        time: checkpoint.time,
        verified: true,
        recorded: { seq: 3, hash: entries.at(-1)?.hash },
      },
      findings: [],
    });
  });

  it('is kept under compliance-mode Object Lock: it can be neither deleted nor replaced', async () => {
    const { key } = await checkpointNow();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket(), Key: key }));
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    expect(head.ObjectLockRetainUntilDate?.getTime()).toBeGreaterThan(Date.now());
    await expect(s3.send(new DeleteObjectCommand({ Bucket: bucket(), Key: key }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: '{}', ChecksumAlgorithm: 'SHA256' })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('names the checkpoint before it by key and digest, so the checkpoints form a chain', async () => {
    const first = await checkpointNow();
    const second = await checkpointNow();
    expect(second.number).toBe(first.number + 1);
    const stored = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: first.key }));
    const digest = createHash('sha256')
      .update(Buffer.from((await stored.Body?.transformToByteArray()) as Uint8Array))
      .digest('hex');
    expect((await readCheckpoint(second.key)).previous).toEqual({ key: first.key, digest });
  });

  it('on schedule, is skipped when no chain moved, and written when one did', async () => {
    await cloud.services.tick('audit-checkpoint'); // whatever the earlier tests left unrecorded
    expect(await cloud.services.tick('audit-checkpoint')).toMatchObject({ outcome: 'unchanged' });
    await chainOf(1);
    expect(await cloud.services.tick('audit-checkpoint')).toMatchObject({ outcome: 'written' });
  });
});

describe('the database writer', () => {
  it('who deletes a chain’s last entry and moves its head back is caught by the signed checkpoint', async () => {
    const subject = await chainOf(5);
    const { key } = await checkpointNow();
    await truncate(subject, 4);

    const report = await verifyChain(subject);
    expect(report).toMatchObject({
      subject,
      entries: 4,
      valid: false,
      first_invalid_seq: 5,
      reason: `chain ends at seq 4 but checkpoint ${key} recorded seq 5`,
      checkpoint: { key, verified: true, recorded: { seq: 5 } },
    });
    // The hash chain alone holds: only the checkpoint sees it.
    expect(report.findings).toEqual([
      {
        type: 'truncated',
        seq: 5,
        checkpoint: key,
        message: `chain ends at seq 4 but checkpoint ${key} recorded seq 5`,
      },
    ]);
  });

  it('who rewrites an entry and recomputes every later hash and the head is caught as a rewrite', async () => {
    const subject = await chainOf(5);
    const { key } = await checkpointNow();
    await rewrite(subject, 3);

    const report = await verifyChain(subject);
    expect(report.valid).toBe(false);
    expect(report.findings).toEqual([
      {
        type: 'rewritten',
        seq: 5,
        checkpoint: key,
        message: `entry 5 hash differs from the signed checkpoint ${key}: the chain was rewritten at or before seq 5`,
      },
    ]);
  });

  it('who deletes a chain whole, head and all, does not make it disappear: its readers see it cut to nothing', async () => {
    const subject = await chainOf(3);
    const { key } = await checkpointNow();
    for (const entry of await entriesOf(subject)) {
      await raw.send(
        new DeleteCommand({ TableName: process.env.TABLE_NAME, Key: auditKeys.entry(subject, entry.seq) }),
      );
    }
    await raw.send(new DeleteCommand({ TableName: process.env.TABLE_NAME, Key: auditKeys.head(subject) }));

    const report = await verifyChain(subject);
    expect(report).toMatchObject({ entries: 0, valid: false, checkpoint: { key, recorded: { seq: 3 } } });
    expect(report.findings.map((f: { type: string }) => f.type)).toEqual(['head-missing', 'truncated']);
    expect(report.findings[1].message).toBe(`chain ends at seq 0 but checkpoint ${key} recorded seq 3`);

    // Still no more than a 404 for someone who could not read the project.
    const other = await create(admin, '/api/v1/projects', bodies.project());
    const sub = unique('outsider');
    const outsider = client(cloud.url, await cloud.mintToken({ sub }));
    await outsider.get('/api/v1/users/me');
    await create(admin, '/api/v1/roles/bind', {
      role: 'maintainer',
      subject: { kind: 'user', id: sub },
      scope: { kind: 'project', project_id: other.id },
    });
    expect((await outsider.get(`/api/v1/audit/verify?${q({ subject })}`)).status).toBe(404);
  });

  it('who tampers between two checkpoints is still caught after the second: records never move back', async () => {
    const cut = await chainOf(5);
    const grown = await chainOf(3);
    await checkpointNow();
    await truncate(cut, 3);
    // Rewrite entry 2, then "append" a forged entry 4 so the chain grew: the recorded entry 3 no longer holds.
    const [third] = (await entriesOf(grown)).filter((e) => e.seq === 3);
    await rewrite(grown, 2, [{ ...(third as AuditEntry), seq: 4, event_id: 'forged' }]);
    const second = await checkpointNow();

    const checkpoint = await readCheckpoint(second.key);
    expect(checkpoint.chains.find((c) => c.subject === cut)?.seq).toBe(5);
    expect(checkpoint.chains.find((c) => c.subject === grown)?.seq).toBe(3);
    expect(checkpoint.findings.filter((f) => f.subject === cut || f.subject === grown).map((f) => f.type)).toEqual(
      [cut, grown].sort().map((s) => (s === cut ? 'truncated' : 'rewritten')),
    );

    expect((await verifyChain(cut)).findings).toEqual([
      expect.objectContaining({ type: 'truncated', seq: 4, checkpoint: second.key }),
    ]);
    expect((await verifyChain(grown)).findings).toEqual([
      expect.objectContaining({ type: 'rewritten', seq: 3, checkpoint: second.key }),
    ]);
  });

  it('cannot hide in entries appended after the checkpoint: the hash chain checks those', async () => {
    const subject = await chainOf(3);
    const { key } = await checkpointNow();
    await append(subject, 4, 5);
    expect(await verifyChain(subject)).toMatchObject({
      entries: 5,
      valid: true,
      checkpoint: { key, recorded: { seq: 3 } },
      findings: [],
    });

    await alterEntry(subject, 5);
    const report = await verifyChain(subject);
    expect(report).toMatchObject({ valid: false, first_invalid_seq: 5 });
    expect(report.findings).toEqual([expect.objectContaining({ type: 'chain-broken', seq: 5 })]);
  });
});

describe('someone who can write to the bucket', () => {
  it('adds a checkpoint of their own with altered records: it is reported, and chains are checked against the last valid one', async () => {
    const subject = await chainOf(2);
    const genuine = await checkpointNow();
    const copy = await readCheckpoint(genuine.key);
    const altered: Checkpoint = {
      ...copy,
      number: genuine.number + 1,
      chains: copy.chains.map((c) => (c.subject === subject ? { ...c, seq: 1 } : c)),
    };
    const forgedKey = checkpointKey(genuine.number + 1);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket(),
        Key: forgedKey,
        Body: JSON.stringify(altered),
        ChecksumAlgorithm: 'SHA256',
      }),
    );

    const report = await verifyChain(subject);
    expect(report).toMatchObject({
      valid: false,
      checkpoint: { key: genuine.key, verified: true, recorded: { seq: 2 } },
    });
    expect(report.findings).toEqual([
      {
        type: 'checkpoint-invalid',
        checkpoint: forgedKey,
        message: `checkpoint ${forgedKey} is not validly signed by the audit key: it was forged or altered`,
      },
    ]);
    const latest = await admin.get('/api/v1/audit/checkpoints/latest');
    expect(latest.body).toMatchObject({ key: genuine.key, verified: true, newer_invalid: [{ checkpoint: forgedKey }] });

    // The next genuine checkpoint steps over it, says so (signed), and chains verify again.
    const next = await checkpointNow();
    expect(next.number).toBe(genuine.number + 2);
    expect((await readCheckpoint(next.key)).skipped).toEqual([{ key: forgedKey, digest: expect.any(String) }]);
    expect(await verifyChain(subject)).toMatchObject({ valid: true, findings: [] });
  });

  it('signs a forged checkpoint with a key of their own: the signature does not hold', async () => {
    const subject = await chainOf(1);
    const genuine = await checkpointNow();
    const { signature: _genuineSignature, ...body } = await readCheckpoint(genuine.key);
    const forged = { ...body, number: genuine.number + 1, chains: body.chains.filter((c) => c.subject !== subject) };
    const own = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    const signed = await kms.send(
      new SignCommand({
        KeyId: own.KeyMetadata?.Arn,
        Message: createHash('sha256').update(signedBytes(forged)).digest(),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    const signature = {
      key_id: process.env.SLIPWAY_AUDIT_KEY_ID,
      algorithm: 'ECDSA_SHA_256',
      value: Buffer.from(signed.Signature as Uint8Array).toString('base64'),
    };
    const forgedKey = checkpointKey(genuine.number + 1);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket(),
        Key: forgedKey,
        Body: JSON.stringify({ ...forged, signature }),
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    const report = await verifyChain(subject);
    expect(report.checkpoint).toMatchObject({ key: genuine.key, verified: true });
    expect(report.findings).toEqual([expect.objectContaining({ type: 'checkpoint-invalid', checkpoint: forgedKey })]);
    await checkpointNow(); // step over it, for the tests after this one
  });
});

describe('asking for a checkpoint', () => {
  it('is for platform admins, takes only a reason, and is itself in the audit log', async () => {
    const maintainer = client(cloud.url, await cloud.mintToken({ sub: unique('maintainer') }));
    await maintainer.get('/api/v1/users/me');
    expect((await maintainer.post('/api/v1/audit/checkpoints', {})).status).toBe(403);
    const refused = await admin.post('/api/v1/audit/checkpoints', { reason: 'x', force: true });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');

    // A retried request is the same request: one event, the first answer replayed.
    const key = { 'idempotency-key': unique('checkpoint') };
    const first = await admin.post('/api/v1/audit/checkpoints', { reason: 'retried' }, key);
    const again = await admin.post('/api/v1/audit/checkpoints', { reason: 'retried' }, key);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.event_id).toBe(first.body.event_id);
    // Requests are answered in any order when several are in flight: this one first, then the next.
    await answered(first.body.event_id);

    const latest = await checkpointNow('before the release freeze');
    const deadline = Date.now() + 20_000;
    let entries: { type: string; actor: string; data: { reason?: string } }[] = [];
    while (Date.now() < deadline) {
      const list = await admin.get(`/api/v1/audit?${q({ subject: 'audit/checkpoints', limit: '100' })}`);
      entries = list.status === 200 ? list.body.items : [];
      if (entries.some((e) => e.data.reason === 'before the release freeze')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(entries).toContainEqual(
      expect.objectContaining({
        type: 'Audit Checkpoint Requested',
        actor: 'root',
        data: { reason: 'before the release freeze' },
      }),
    );
    expect(latest.key).toMatch(/^checkpoints\/\d{12}\.json$/);
  });
});
