/**
 * The local Secrets Manager (served by aws-endpoint.ts under `secretsmanager`): CreateSecret,
 * PutSecretValue, GetSecretValue, DescribeSecret and DeleteSecret (at once, as with ForceDeleteWithoutRecovery) with AWS's shapes, ARNs (name + `-` + six
 * random characters) and version stages (AWSCURRENT / AWSPREVIOUS). Kept in memory, or in one
 * JSON file when `file` is given. String secrets only; no rotation, recovery window or resource policies.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type AwsService, AwsServiceError } from './aws-endpoint.ts';

export interface LocalSecretsOptions {
  region: string;
  accountId: string;
  /** JSON file the secrets persist in; in memory without it. */
  file?: string;
}

export interface LocalSecrets {
  service: AwsService;
  /** Creates the secret or stores a new current value; answers its ARN. */
  put(name: string, value: string): string;
  /** The current value of a secret by name, if it exists. */
  current(name: string): string | undefined;
}

interface SecretVersion {
  versionId: string;
  value: string;
  stages: string[];
  /** Epoch milliseconds. */
  createdDate: number;
}

interface Secret {
  arn: string;
  name: string;
  description?: string;
  createdDate: number;
  lastChangedDate: number;
  versions: SecretVersion[];
}

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function createLocalSecrets(options: LocalSecretsOptions): LocalSecrets {
  const secrets = new Map<string, Secret>(load(options.file).map((secret) => [secret.name, secret]));
  const save = () => {
    if (options.file === undefined) return;
    mkdirSync(dirname(options.file), { recursive: true });
    // Write then rename: a crash never leaves a half-written file.
    writeFileSync(`${options.file}.tmp`, JSON.stringify([...secrets.values()], null, 2));
    renameSync(`${options.file}.tmp`, options.file);
  };

  const find = (secretId: unknown): Secret => {
    const id = String(secretId ?? '');
    // A name, the full ARN, or the ARN without its random suffix, as AWS accepts.
    const secret = secrets.get(id) ?? [...secrets.values()].find((s) => s.arn === id || s.arn.slice(0, -7) === id);
    if (secret === undefined) {
      throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    return secret;
  };

  const create = (name: string, value: string, versionId: string = randomUUID(), description?: string): Secret => {
    if (secrets.has(name)) {
      throw new AwsServiceError(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const now = Date.now();
    const suffix = [...randomBytes(6)].map((byte) => SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length]).join('');
    const secret: Secret = {
      arn: `arn:aws:secretsmanager:${options.region}:${options.accountId}:secret:${name}-${suffix}`,
      name,
      ...(description === undefined ? {} : { description }),
      createdDate: now,
      lastChangedDate: now,
      versions: [{ versionId, value, stages: ['AWSCURRENT'], createdDate: now }],
    };
    secrets.set(name, secret);
    save();
    return secret;
  };

  /** The new version becomes AWSCURRENT, the old current AWSPREVIOUS; a repeated token with the same value is a no-op. */
  const putValue = (secret: Secret, value: string, versionId: string = randomUUID()): SecretVersion => {
    const repeat = secret.versions.find((v) => v.versionId === versionId);
    if (repeat !== undefined) {
      if (repeat.value === value) return repeat;
      throw new AwsServiceError('ResourceExistsException', `Version ${versionId} already exists with another value.`);
    }
    for (const version of secret.versions) {
      version.stages = version.stages.includes('AWSCURRENT') ? ['AWSPREVIOUS'] : [];
    }
    const version = { versionId, value, stages: ['AWSCURRENT'], createdDate: Date.now() };
    secret.versions = [...secret.versions.filter((v) => v.stages.length > 0), version];
    secret.lastChangedDate = version.createdDate;
    save();
    return version;
  };

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    CreateSecret: (input) => {
      if (typeof input.Name !== 'string' || input.Name === '') {
        throw new AwsServiceError('InvalidParameterException', 'Name is required.');
      }
      const value = secretString(input);
      const versionId = optionalString(input.ClientRequestToken);
      const secret = create(input.Name, value, versionId, optionalString(input.Description));
      return { ARN: secret.arn, Name: secret.name, VersionId: current(secret).versionId };
    },
    PutSecretValue: (input) => {
      const secret = find(input.SecretId);
      const version = putValue(secret, secretString(input), optionalString(input.ClientRequestToken));
      return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: version.stages };
    },
    GetSecretValue: (input) => {
      const secret = find(input.SecretId);
      const version = versionOf(secret, input);
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        SecretString: version.value,
        VersionStages: version.stages,
        CreatedDate: epochSeconds(version.createdDate),
      };
    },
    DeleteSecret: (input) => {
      const secret = find(input.SecretId);
      secrets.delete(secret.name);
      save();
      return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(Date.now()) };
    },
    DescribeSecret: (input) => {
      const secret = find(input.SecretId);
      return {
        ARN: secret.arn,
        Name: secret.name,
        ...(secret.description === undefined ? {} : { Description: secret.description }),
        CreatedDate: epochSeconds(secret.createdDate),
        LastChangedDate: epochSeconds(secret.lastChangedDate),
        VersionIdsToStages: Object.fromEntries(secret.versions.map((v) => [v.versionId, v.stages])),
      };
    },
  };

  return {
    service: async (operation, input) => {
      const handle = operations[operation];
      if (handle === undefined) {
        throw new AwsServiceError('UnknownOperationException', `The local Secrets Manager has no ${operation}`);
      }
      return handle(input);
    },
    put: (name, value) => {
      const existing = secrets.get(name);
      if (existing === undefined) return create(name, value).arn;
      putValue(existing, value);
      return existing.arn;
    },
    current: (name) => {
      const secret = secrets.get(name);
      return secret && current(secret).value;
    },
  };
}

function current(secret: Secret): SecretVersion {
  return secret.versions.find((v) => v.stages.includes('AWSCURRENT')) as SecretVersion;
}

/** GetSecretValue's VersionId / VersionStage selection; AWSCURRENT by default. */
function versionOf(secret: Secret, input: Record<string, unknown>): SecretVersion {
  const stage = optionalString(input.VersionStage) ?? (input.VersionId === undefined ? 'AWSCURRENT' : undefined);
  const version = secret.versions.find(
    (v) =>
      (input.VersionId === undefined || v.versionId === input.VersionId) &&
      (stage === undefined || v.stages.includes(stage)),
  );
  if (version === undefined) {
    throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value.");
  }
  return version;
}

function secretString(input: Record<string, unknown>): string {
  if (typeof input.SecretString !== 'string') {
    throw new AwsServiceError('InvalidRequestException', 'The local Secrets Manager stores SecretString values only.');
  }
  return input.SecretString;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function load(file: string | undefined): Secret[] {
  if (file === undefined) return [];
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Secret[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The JSON protocol's timestamps: epoch seconds (a Date would reach JSON.stringify as ISO text). */
function epochSeconds(ms: number): number {
  return ms / 1000;
}
