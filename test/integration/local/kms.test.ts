/**
 * The local KMS through the real @aws-sdk/client-kms: asymmetric keys that sign, RAW and DIGEST,
 * whose signatures node:crypto verifies with GetPublicKey's SPKI DER (and KMS Verify agrees with
 * node:crypto), AWS's errors, and keys that survive a restart in their file.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  SignCommand,
  type SigningAlgorithmSpec,
  VerifyCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '../../../infra/local/aws-endpoint.ts';
import { createLocalKms, type LocalKms } from '../../../infra/local/kms/service.ts';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const dataDir = mkdtempSync(join(tmpdir(), 'slipway-kms-'));
const file = join(dataDir, 'keys.json');

let kms: LocalKms;
let endpoint: AwsEndpoint;
let client: KMSClient;

beforeAll(async () => {
  kms = createLocalKms({ region: REGION, accountId: ACCOUNT, file });
  endpoint = await startAwsEndpoint({ services: { TrentService: kms.service } });
  client = clientFor(endpoint);
});

afterAll(async () => {
  client?.destroy();
  await endpoint?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function clientFor(at: AwsEndpoint): KMSClient {
  return new KMSClient({ endpoint: at.url, region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
}

async function publicKeyOf(keyId: string): Promise<KeyObject> {
  const out = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  return createPublicKey({ key: Buffer.from(out.PublicKey as Uint8Array), format: 'der', type: 'spki' });
}

const newKey = async (KeySpec: 'ECC_NIST_P256' | 'ECC_NIST_P384' | 'RSA_2048') =>
  (await client.send(new CreateKeyCommand({ KeySpec, KeyUsage: 'SIGN_VERIFY', Description: KeySpec }))).KeyMetadata
    ?.Arn as string;

const message = Buffer.from('{"chains":[{"subject":"app/app_1","seq":5}]}');

describe('local KMS', () => {
  it('creates an asymmetric signing key and describes it by ARN, id and alias', async () => {
    const arn = await newKey('ECC_NIST_P256');
    expect(arn).toMatch(new RegExp(`^arn:aws:kms:${REGION}:${ACCOUNT}:key/[0-9a-f-]{36}$`));
    await client.send(new CreateAliasCommand({ AliasName: 'alias/audit-test', TargetKeyId: arn }));
    for (const keyId of [
      arn,
      arn.split('/')[1] as string,
      'alias/audit-test',
      `arn:aws:kms:${REGION}:${ACCOUNT}:alias/audit-test`,
    ]) {
      const { KeyMetadata } = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
      expect(KeyMetadata).toMatchObject({
        Arn: arn,
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        KeyState: 'Enabled',
        SigningAlgorithms: ['ECDSA_SHA_256'],
      });
      expect(KeyMetadata?.CreationDate).toBeInstanceOf(Date);
    }
  });

  it.each([
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'sha256'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'sha384'],
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', 'sha256'],
  ] as const)(
    '%s: a DIGEST signature verifies with node:crypto over the message it is the digest of',
    async (spec, algorithm, hash) => {
      const keyId = await newKey(spec);
      const digest = createHash(hash).update(message).digest();
      const out = await client.send(
        new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: algorithm }),
      );
      expect(out).toMatchObject({ KeyId: keyId, SigningAlgorithm: algorithm });
      const signature = Buffer.from(out.Signature as Uint8Array);
      const publicKey = await publicKeyOf(keyId);
      expect(verify(hash, message, publicKey, signature)).toBe(true);
      expect(verify(hash, Buffer.from('another message'), publicKey, signature)).toBe(false);
    },
  );

  it.each([
    ['ECC_NIST_P256', 'ECDSA_SHA_256'],
    ['RSA_2048', 'RSASSA_PSS_SHA_256'],
  ] as const)('%s: a RAW signature verifies with node:crypto', async (spec, algorithm) => {
    const keyId = await newKey(spec);
    const out = await client.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: algorithm }));
    const publicKey = await publicKeyOf(keyId);
    const options = algorithm.startsWith('RSASSA_PSS') ? { key: publicKey, padding: 6, saltLength: 32 } : publicKey;
    expect(verify('sha256', message, options, Buffer.from(out.Signature as Uint8Array))).toBe(true);
  });

  it('Verify agrees with node:crypto: what a standard ECDSA signer made is valid, anything else is refused', async () => {
    const keyId = await newKey('ECC_NIST_P256');
    const signed = await client.send(
      new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    const signature = Buffer.from(signed.Signature as Uint8Array);
    const digest = createHash('sha256').update(message).digest();
    const verifyWith = (Message: Buffer, MessageType: 'RAW' | 'DIGEST', Signature: Buffer) =>
      client.send(
        new VerifyCommand({ KeyId: keyId, Message, MessageType, Signature, SigningAlgorithm: 'ECDSA_SHA_256' }),
      );

    expect((await verifyWith(message, 'RAW', signature)).SignatureValid).toBe(true);
    expect((await verifyWith(digest, 'DIGEST', signature)).SignatureValid).toBe(true);
    // A signature KMS never made, but valid for this public key, does not exist without the private key:
    // a foreign key's signature over the same message is refused.
    const foreign = await newKey('ECC_NIST_P256');
    const other = await client.send(
      new SignCommand({ KeyId: foreign, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    await expect(verifyWith(message, 'RAW', Buffer.from(other.Signature as Uint8Array))).rejects.toMatchObject({
      name: 'KMSInvalidSignatureException',
    });
    const altered = Buffer.from(signature);
    altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 1;
    await expect(verifyWith(message, 'RAW', altered)).rejects.toMatchObject({ name: 'KMSInvalidSignatureException' });
    await expect(verifyWith(Buffer.from('tampered'), 'RAW', signature)).rejects.toMatchObject({
      name: 'KMSInvalidSignatureException',
    });
  });

  it('vice versa: KMS Verify (RAW and DIGEST) accepts what node:crypto signed with the same private key', async () => {
    // Only a local KMS lets the key out (its file): OpenSSL's signatures check our DIGEST arithmetic.
    const arn = kms.signingKey('vice-versa');
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { keys: { id: string; privateKeyPem: string }[] };
    const pem = stored.keys.find((k) => arn.endsWith(k.id))?.privateKeyPem as string;
    for (let i = 0; i < 5; i++) {
      const text = Buffer.from(`checkpoint ${i}`);
      const signature = sign('sha256', text, createPrivateKey(pem));
      const digest = createHash('sha256').update(text).digest();
      for (const [Message, MessageType] of [
        [text, 'RAW'],
        [digest, 'DIGEST'],
      ] as const) {
        const out = await client.send(
          new VerifyCommand({
            KeyId: arn,
            Message,
            MessageType,
            Signature: signature,
            SigningAlgorithm: 'ECDSA_SHA_256',
          }),
        );
        expect(out.SignatureValid).toBe(true);
      }
    }
  });

  it('refuses what AWS refuses, with its error names', async () => {
    const keyId = await newKey('ECC_NIST_P256');
    const signWith = (input: Partial<ConstructorParameters<typeof SignCommand>[0]>) =>
      client.send(
        new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256', ...input } as never),
      );
    await expect(signWith({ KeyId: 'alias/nope' })).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(signWith({ SigningAlgorithm: 'RSASSA_PSS_SHA_256' as SigningAlgorithmSpec })).rejects.toMatchObject({
      name: 'InvalidKeyUsageException',
    });
    await expect(signWith({ MessageType: 'DIGEST' })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(signWith({ Message: Buffer.alloc(4097) })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(client.send(new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT' }))).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
    });
  });

  it('keeps its keys in its file: a restarted KMS signs with the same key', async () => {
    const arn = kms.signingKey('kept');
    const before = await publicKeyOf(arn);
    const again = createLocalKms({ region: REGION, accountId: ACCOUNT, file });
    expect(again.signingKey('kept')).toBe(arn);
    const restarted = await startAwsEndpoint({ services: { TrentService: again.service } });
    const other = clientFor(restarted);
    try {
      const out = await other.send(
        new SignCommand({ KeyId: 'alias/kept', Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }),
      );
      expect(verify('sha256', message, before, Buffer.from(out.Signature as Uint8Array))).toBe(true);
    } finally {
      other.destroy();
      await restarted.close();
    }
  });
});
