/**
 * The local KMS (served by aws-endpoint.ts under `TrentService`), for asymmetric signing keys:
 * CreateKey, CreateAlias, DescribeKey, GetPublicKey, Sign and Verify with AWS's shapes, key ARNs,
 * aliases and errors. Keys are real node:crypto key pairs (ECC_NIST_P256/P384, RSA_2048/3072/4096)
 * kept in memory, or in one JSON file when `file` is given, so signatures verify with any standard
 * tool against GetPublicKey's SPKI DER. Differences from AWS, on purpose: no symmetric keys
 * (Encrypt, GenerateDataKey), no key policies or grants, no deletion; RSASSA_PSS takes RAW messages only.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  constants as openssl,
  privateEncrypt,
  publicDecrypt,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type AwsService, AwsServiceError } from '../aws-endpoint.ts';
import { signDigest, verifyDigest } from './ecdsa.ts';

export interface LocalKmsOptions {
  region: string;
  accountId: string;
  /** JSON file the keys persist in (private keys as PKCS#8 PEM); in memory without it. */
  file?: string;
}

export interface LocalKms {
  service: AwsService;
  /** The key behind `alias/<name>`, created with this spec on first use; answers its ARN. */
  signingKey(alias: string, spec?: KeySpec): string;
}

type KeySpec = 'ECC_NIST_P256' | 'ECC_NIST_P384' | 'RSA_2048' | 'RSA_3072' | 'RSA_4096';
type Hash = 'sha256' | 'sha384' | 'sha512';

interface StoredKey {
  id: string;
  spec: KeySpec;
  description: string;
  /** Epoch milliseconds. */
  created: number;
  privateKeyPem: string;
}

interface Stored {
  keys: StoredKey[];
  /** `alias/<name>` → key id. */
  aliases: Record<string, string>;
}

const SPECS: Record<KeySpec, { generate: () => KeyObject; algorithms: string[] }> = {
  ECC_NIST_P256: { generate: () => ec('P-256'), algorithms: ['ECDSA_SHA_256'] },
  ECC_NIST_P384: { generate: () => ec('P-384'), algorithms: ['ECDSA_SHA_384'] },
  RSA_2048: { generate: () => rsa(2048), algorithms: rsaAlgorithms() },
  RSA_3072: { generate: () => rsa(3072), algorithms: rsaAlgorithms() },
  RSA_4096: { generate: () => rsa(4096), algorithms: rsaAlgorithms() },
};

function rsaAlgorithms(): string[] {
  return ['SHA_256', 'SHA_384', 'SHA_512'].flatMap((h) => [`RSASSA_PSS_${h}`, `RSASSA_PKCS1_V1_5_${h}`]);
}

/** DER DigestInfo prefixes (RFC 8017 §9.2): what PKCS#1 v1.5 signs in front of a digest. */
const DIGEST_INFO: Record<Hash, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};
const DIGEST_BYTES: Record<Hash, number> = { sha256: 32, sha384: 48, sha512: 64 };
/** KMS's limit on a RAW message. */
const MAX_MESSAGE_BYTES = 4096;

export function createLocalKms(options: LocalKmsOptions): LocalKms {
  const stored = load(options.file);
  const privateKeys = new Map(stored.keys.map((k) => [k.id, createPrivateKey(k.privateKeyPem)]));
  const arnOf = (id: string) => `arn:aws:kms:${options.region}:${options.accountId}:key/${id}`;
  const arnPrefix = `arn:aws:kms:${options.region}:${options.accountId}:`;
  const save = () => {
    if (options.file === undefined) return;
    mkdirSync(dirname(options.file), { recursive: true });
    // Write then rename: a crash never leaves a half-written file.
    writeFileSync(`${options.file}.tmp`, JSON.stringify(stored, null, 2), { mode: 0o600 });
    renameSync(`${options.file}.tmp`, options.file);
  };

  const create = (spec: unknown, description: string): StoredKey => {
    const kind = SPECS[spec as KeySpec];
    if (!kind) {
      throw new AwsServiceError('UnsupportedOperationException', `The local KMS has no ${String(spec)} keys.`);
    }
    const privateKey = kind.generate();
    const key: StoredKey = {
      id: randomUUID(),
      spec: spec as KeySpec,
      description,
      created: Date.now(),
      privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    };
    stored.keys.push(key);
    privateKeys.set(key.id, privateKey);
    save();
    return key;
  };

  /** A key id, key ARN, alias name or alias ARN, as KMS accepts. */
  const find = (keyId: unknown): StoredKey => {
    const text = String(keyId ?? '');
    const name = text.startsWith(arnPrefix) ? text.slice(arnPrefix.length) : text; // key/<id>, alias/<name> or <id>
    const id = name.startsWith('alias/') ? stored.aliases[name] : name.replace(/^key\//, '');
    const key = stored.keys.find((k) => k.id === id);
    if (!key) {
      throw new AwsServiceError(
        'NotFoundException',
        name.startsWith('alias/') ? `Alias ${arnPrefix}${name} is not found.` : `Key '${text}' does not exist`,
      );
    }
    return key;
  };

  const metadata = (key: StoredKey) => ({
    AWSAccountId: options.accountId,
    KeyId: key.id,
    Arn: arnOf(key.id),
    CreationDate: key.created / 1000,
    Enabled: true,
    Description: key.description,
    KeyUsage: 'SIGN_VERIFY',
    KeyState: 'Enabled',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    KeySpec: key.spec,
    CustomerMasterKeySpec: key.spec,
    SigningAlgorithms: SPECS[key.spec].algorithms,
    MultiRegion: false,
  });

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    CreateKey: (input) => {
      if ((input.KeyUsage ?? 'ENCRYPT_DECRYPT') !== 'SIGN_VERIFY') {
        throw new AwsServiceError(
          'UnsupportedOperationException',
          'The local KMS has signing keys only (SIGN_VERIFY).',
        );
      }
      return { KeyMetadata: metadata(create(input.KeySpec, String(input.Description ?? ''))) };
    },
    CreateAlias: (input) => {
      const name = String(input.AliasName ?? '');
      if (!/^alias\/[\w/-]{1,250}$/.test(name) || name.startsWith('alias/aws/')) {
        throw new AwsServiceError('ValidationException', `Alias ${name} is not a valid alias name.`);
      }
      if (stored.aliases[name])
        throw new AwsServiceError('AlreadyExistsException', `An alias with the name ${name} already exists`);
      stored.aliases[name] = find(input.TargetKeyId).id;
      save();
      return {};
    },
    DescribeKey: (input) => ({ KeyMetadata: metadata(find(input.KeyId)) }),
    GetPublicKey: (input) => {
      const key = find(input.KeyId);
      return {
        KeyId: arnOf(key.id),
        PublicKey: publicKeyOf(privateKeys, key).export({ format: 'der', type: 'spki' }).toString('base64'),
        KeySpec: key.spec,
        CustomerMasterKeySpec: key.spec,
        KeyUsage: 'SIGN_VERIFY',
        SigningAlgorithms: SPECS[key.spec].algorithms,
      };
    },
    Sign: (input) => {
      const key = find(input.KeyId);
      const request = signingRequest(key, input);
      const privateKey = privateKeys.get(key.id) as KeyObject;
      return {
        KeyId: arnOf(key.id),
        Signature: signWith(privateKey, request).toString('base64'),
        SigningAlgorithm: request.algorithm,
      };
    },
    Verify: (input) => {
      const key = find(input.KeyId);
      const request = signingRequest(key, input);
      const signature = Buffer.from(String(input.Signature ?? ''), 'base64');
      if (!verifyWith(publicKeyOf(privateKeys, key), request, signature)) {
        throw new AwsServiceError('KMSInvalidSignatureException', '');
      }
      return { KeyId: arnOf(key.id), SignatureValid: true, SigningAlgorithm: request.algorithm };
    },
  };

  return {
    service: async (operation, input) => {
      const handle = operations[operation];
      if (handle === undefined) {
        throw new AwsServiceError('UnsupportedOperationException', `The local KMS has no ${operation}`);
      }
      return handle(input);
    },
    signingKey: (alias, spec = 'ECC_NIST_P256') => {
      const name = `alias/${alias}`;
      const existing = stored.aliases[name];
      if (existing) return arnOf(existing);
      const key = create(spec, `Local signing key ${name}`);
      stored.aliases[name] = key.id;
      save();
      return arnOf(key.id);
    },
  };
}

interface SigningRequest {
  algorithm: string;
  hash: Hash;
  /** ECDSA, RSASSA_PKCS1_V1_5 or RSASSA_PSS. */
  scheme: 'ECDSA' | 'PKCS1' | 'PSS';
  message: Buffer;
  digest: boolean;
}

/** KMS's checks on Sign and Verify input: algorithm for the key, RAW size, DIGEST length. */
function signingRequest(key: StoredKey, input: Record<string, unknown>): SigningRequest {
  const algorithm = String(input.SigningAlgorithm ?? '');
  if (!SPECS[key.spec].algorithms.includes(algorithm)) {
    throw new AwsServiceError(
      'InvalidKeyUsageException',
      `The signing algorithm ${algorithm} is not supported for ${key.spec} keys (${SPECS[key.spec].algorithms.join(', ')}).`,
    );
  }
  const message = Buffer.from(String(input.Message ?? ''), 'base64');
  const type = input.MessageType ?? 'RAW';
  if (type !== 'RAW' && type !== 'DIGEST') {
    throw new AwsServiceError('ValidationException', `MessageType must be RAW or DIGEST, not ${String(type)}.`);
  }
  if (message.length === 0 || message.length > MAX_MESSAGE_BYTES) {
    throw new AwsServiceError('ValidationException', `Message must be 1 to ${MAX_MESSAGE_BYTES} bytes long.`);
  }
  const hash = `sha${algorithm.slice(-3)}` as Hash;
  if (type === 'DIGEST' && message.length !== DIGEST_BYTES[hash]) {
    throw new AwsServiceError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
  }
  const scheme = algorithm.startsWith('ECDSA') ? 'ECDSA' : algorithm.startsWith('RSASSA_PSS') ? 'PSS' : 'PKCS1';
  if (type === 'DIGEST' && scheme === 'PSS') {
    throw new AwsServiceError(
      'UnsupportedOperationException',
      'The local KMS signs RSASSA_PSS over RAW messages only.',
    );
  }
  return { algorithm, hash, scheme, message, digest: type === 'DIGEST' };
}

function signWith(privateKey: KeyObject, r: SigningRequest): Buffer {
  if (!r.digest) return sign(r.hash, r.message, pssOptions(privateKey, r));
  if (r.scheme === 'ECDSA') return signDigest(privateKey, r.message);
  return privateEncrypt({ key: privateKey, padding: openssl.RSA_PKCS1_PADDING }, digestInfo(r));
}

function verifyWith(publicKey: KeyObject, r: SigningRequest, signature: Buffer): boolean {
  try {
    if (!r.digest) return verify(r.hash, r.message, pssOptions(publicKey, r), signature);
    if (r.scheme === 'ECDSA') return verifyDigest(publicKey, r.message, signature);
    return publicDecrypt({ key: publicKey, padding: openssl.RSA_PKCS1_PADDING }, signature).equals(digestInfo(r));
  } catch {
    return false; // a malformed signature is an invalid one
  }
}

/** KMS's RSASSA_PSS uses a salt as long as the digest. */
const pssOptions = (key: KeyObject, r: SigningRequest) =>
  r.scheme === 'PSS'
    ? { key, padding: openssl.RSA_PKCS1_PSS_PADDING, saltLength: DIGEST_BYTES[r.hash] }
    : { key, dsaEncoding: 'der' as const };

const digestInfo = (r: SigningRequest) => Buffer.concat([Buffer.from(DIGEST_INFO[r.hash], 'hex'), r.message]);

const publicKeyOf = (privateKeys: Map<string, KeyObject>, key: StoredKey) =>
  createPublicKey(privateKeys.get(key.id) as KeyObject);

const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve }).privateKey;
const rsa = (modulusLength: number) => generateKeyPairSync('rsa', { modulusLength }).privateKey;

function load(file: string | undefined): Stored {
  if (file === undefined) return { keys: [], aliases: {} };
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { keys: [], aliases: {} };
    throw error;
  }
}
