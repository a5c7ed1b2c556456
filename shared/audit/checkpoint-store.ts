import { createPublicKey, type KeyObject } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { outagesAsProblem } from '../store/dynamo.ts';
import { CHECKPOINT_PREFIX, type Checkpoint, SIGNING_ALGORITHM, sha256 } from './checkpoint.ts';

/**
 * Where checkpoints live and who signs them: the Object Lock bucket (SLIPWAY_AUDIT_BUCKET) and the
 * asymmetric KMS key (SLIPWAY_AUDIT_KEY_ID). Reading needs s3:GetObject/ListBucket and
 * kms:GetPublicKey; writing needs s3:PutObject/PutObjectRetention and kms:Sign, which only the
 * checkpointer holds (infra/manifest.ts). Clients are created once per container.
 */

const timeouts = { requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000 } };
// S3-compatible servers (the local cloud's) are addressed by path, AWS by virtual host.
const s3 = outagesAsProblem(new S3Client({ ...timeouts, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3) }));
const kms = outagesAsProblem(new KMSClient(timeouts));
/** The clients themselves, for the bench to count their requests (as test/ does with the table's). */
export const checkpointClients = { s3, kms };

const bucket = () => setting('SLIPWAY_AUDIT_BUCKET');
const keyId = () => setting('SLIPWAY_AUDIT_KEY_ID');

/** Object Lock retention of new checkpoints, in days. */
export const retentionDays = (): number => Number(process.env.SLIPWAY_AUDIT_RETENTION_DAYS ?? 365);

/** Checkpoint keys, newest first, after `startAfter`. */
export async function listCheckpointKeys(limit: number, startAfter?: string): Promise<string[]> {
  const out = await s3.send(
    new ListObjectsV2Command({ Bucket: bucket(), Prefix: CHECKPOINT_PREFIX, MaxKeys: limit, StartAfter: startAfter }),
  );
  return (out.Contents ?? []).map((object) => object.Key as string);
}

/** The stored bytes, or undefined when there is no such object. */
export async function readCheckpointObject(key: string): Promise<Buffer | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
    return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/**
 * Stores a checkpoint under compliance-mode retention, only if its key is free (`If-None-Match`):
 * two checkpointers racing for the same number cannot both win. Answers false when the key was taken.
 */
export async function writeCheckpointObject(key: string, bytes: Buffer, retainUntil: Date): Promise<boolean> {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket(),
        Key: key,
        Body: bytes,
        ContentType: 'application/json',
        IfNoneMatch: '*',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: retainUntil,
        ChecksumAlgorithm: 'SHA256', // S3 takes a retention only with an integrity check of the bytes
      }),
    );
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) return false;
    throw error;
  }
}

/** KMS signs the digest of the checkpoint's canonical body (ECDSA P-256, message type DIGEST). */
export async function signCheckpoint(signed: Buffer): Promise<Checkpoint['signature']> {
  const out = await kms.send(
    new SignCommand({
      KeyId: keyId(),
      Message: sha256(signed),
      MessageType: 'DIGEST',
      SigningAlgorithm: SIGNING_ALGORITHM,
    }),
  );
  return {
    key_id: out.KeyId as string,
    algorithm: SIGNING_ALGORITHM,
    value: Buffer.from(out.Signature as Uint8Array).toString('base64'),
  };
}

let signer: Promise<{ keyId: string; publicKey: KeyObject }> | undefined;

/** The key's ARN and public key, asked for once per container: signatures are verified here, not by KMS calls. */
export function checkpointSigner(): Promise<{ keyId: string; publicKey: KeyObject }> {
  signer ??= kms.send(new GetPublicKeyCommand({ KeyId: keyId() })).then(
    (out) => ({
      keyId: out.KeyId as string,
      publicKey: createPublicKey({ key: Buffer.from(out.PublicKey as Uint8Array), format: 'der', type: 'spki' }),
    }),
    (error: unknown) => {
      signer = undefined; // a failed lookup is not remembered
      throw error;
    },
  );
  return signer;
}

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the audit checkpoints are not configured`);
  return value;
}
