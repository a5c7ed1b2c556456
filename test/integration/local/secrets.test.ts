/**
 * The local Secrets Manager through the real @aws-sdk/client-secrets-manager: create, read by
 * name or ARN, new versions, describe, delete, not found, and persistence in its file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '../../../infra/local/aws-endpoint.ts';
import { createLocalSecrets, type LocalSecrets } from '../../../infra/local/secrets.ts';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const dataDir = mkdtempSync(join(tmpdir(), 'slipway-secrets-'));
const file = join(dataDir, 'secrets.json');

let secrets: LocalSecrets;
let endpoint: AwsEndpoint;
let client: SecretsManagerClient;

beforeAll(async () => {
  secrets = createLocalSecrets({ region: REGION, accountId: ACCOUNT, file });
  endpoint = await startAwsEndpoint({ services: { secretsmanager: secrets.service } });
  client = clientFor(endpoint);
});

afterAll(async () => {
  client?.destroy();
  await endpoint?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function clientFor(at: AwsEndpoint): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint: at.url,
    region: REGION,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
}

describe('local Secrets Manager', () => {
  it('creates a secret and reads it back by name and by ARN', async () => {
    const created = await client.send(
      new CreateSecretCommand({ Name: 'slipway/clusters/prod', SecretString: 'token-1', Description: 'prod token' }),
    );

    expect(created.ARN).toMatch(
      new RegExp(`^arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:slipway/clusters/prod-[A-Za-z0-9]{6}$`),
    );
    const byName = await client.send(new GetSecretValueCommand({ SecretId: 'slipway/clusters/prod' }));
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(byName).toMatchObject({ ARN: created.ARN, Name: 'slipway/clusters/prod', SecretString: 'token-1' });
    expect(byName.VersionId).toBe(created.VersionId);
    expect(byName.CreatedDate).toBeInstanceOf(Date);
    expect(byArn.SecretString).toBe('token-1');
  });

  it('refuses a second secret with the same name', async () => {
    await client.send(new CreateSecretCommand({ Name: 'slipway/once', SecretString: 'a' }));

    await expect(
      client.send(new CreateSecretCommand({ Name: 'slipway/once', SecretString: 'b' })),
    ).rejects.toMatchObject({
      name: 'ResourceExistsException',
    });
  });

  it('makes a put value current and keeps the old one as AWSPREVIOUS', async () => {
    const created = await client.send(new CreateSecretCommand({ Name: 'slipway/rotating', SecretString: 'old' }));

    const put = await client.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: 'new' }));

    expect(put.VersionStages).toEqual(['AWSCURRENT']);
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'slipway/rotating' }))).SecretString).toBe('new');
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: 'slipway/rotating', VersionStage: 'AWSPREVIOUS' }),
    );
    expect(previous).toMatchObject({ SecretString: 'old', VersionId: created.VersionId });
    const described = await client.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(described.VersionIdsToStages).toEqual({
      [created.VersionId as string]: ['AWSPREVIOUS'],
      [put.VersionId as string]: ['AWSCURRENT'],
    });
  });

  it('deletes a secret at once (ForceDeleteWithoutRecovery): it can then be neither read nor deleted again', async () => {
    await client.send(new CreateSecretCommand({ Name: 'slipway/hooks/gone', SecretString: '{"current":"x"}' }));
    const deleted = await client.send(
      new DeleteSecretCommand({ SecretId: 'slipway/hooks/gone', ForceDeleteWithoutRecovery: true }),
    );
    expect(deleted.Name).toBe('slipway/hooks/gone');
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'slipway/hooks/gone' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(client.send(new DeleteSecretCommand({ SecretId: 'slipway/hooks/gone' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('answers ResourceNotFoundException for an unknown name or ARN', async () => {
    const unknownArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:slipway/missing-AbCdEf`;

    for (const SecretId of ['slipway/missing', unknownArn]) {
      await expect(client.send(new GetSecretValueCommand({ SecretId }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
        $metadata: { httpStatusCode: 400 },
      });
    }
    await expect(client.send(new DescribeSecretCommand({ SecretId: 'slipway/missing' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('put() creates or updates a secret for the local cloud, and the file keeps secrets for the next start', async () => {
    const arn = secrets.put('slipway/chat', 'v1');
    expect(secrets.put('slipway/chat', 'v2')).toBe(arn);

    const reopened = createLocalSecrets({ region: REGION, accountId: ACCOUNT, file });
    const endpoint2 = await startAwsEndpoint({ services: { secretsmanager: reopened.service } });
    const client2 = clientFor(endpoint2);
    try {
      expect(await client2.send(new GetSecretValueCommand({ SecretId: arn }))).toMatchObject({
        ARN: arn,
        SecretString: 'v2',
      });
      expect((await client2.send(new DescribeSecretCommand({ SecretId: 'slipway/clusters/prod' }))).Description).toBe(
        'prod token',
      );
    } finally {
      client2.destroy();
      await endpoint2.close();
    }
  });
});
