import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataStack } from '../../infra/aws/data-stack.ts';
import { tableSchema } from '../../shared/store/table-schema.ts';
import { cdkJsonContext } from './synth.ts';

const outdir = mkdtempSync(join(tmpdir(), 'slipway-cdk-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const synthTable = (deletionProtection: boolean) => {
  const app = new App({ context: cdkJsonContext, outdir: join(outdir, `protected-${deletionProtection}`) });
  const template = Template.fromStack(new DataStack(app, 'Data', { deletionProtection }));
  const [table] = Object.values(template.findResources('AWS::DynamoDB::GlobalTable'));
  if (!table) throw new Error('no table in DataStack');
  return table;
};

describe('DataStack', () => {
  let table: ReturnType<typeof synthTable>;
  let props: typeof table.Properties;
  beforeAll(() => {
    table = synthTable(true);
    props = table.Properties;
  });

  it('keys the table and both GSIs as table-schema.ts says, all strings', () => {
    expect(props.KeySchema).toEqual([
      { AttributeName: tableSchema.partitionKey, KeyType: 'HASH' },
      { AttributeName: tableSchema.sortKey, KeyType: 'RANGE' },
    ]);
    expect(props.GlobalSecondaryIndexes).toEqual(
      tableSchema.globalSecondaryIndexes.map((gsi) => ({
        IndexName: gsi.indexName,
        KeySchema: [
          { AttributeName: gsi.partitionKey, KeyType: 'HASH' },
          { AttributeName: gsi.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    );
    for (const attribute of props.AttributeDefinitions) expect(attribute.AttributeType).toBe('S');
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('streams new images, which feed the event publisher', () => {
    expect(props.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
  });

  it('expires items by the TTL attribute', () => {
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: tableSchema.timeToLiveAttribute, Enabled: true });
  });

  it('keeps point-in-time recovery on, is protected from deletion and outlives its stack', () => {
    expect(props.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.Replicas[0].DeletionProtectionEnabled).toBe(true);
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it('goes with its stack when deletion protection is off (dev stages)', () => {
    const dev = synthTable(false);
    expect(dev.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
    expect(dev.DeletionPolicy).toBe('Delete');
    expect(dev.Properties.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });
});

describe('DataStack: the audit checkpoints’ key and bucket', () => {
  const synth = (auditRetentionDays?: number) => {
    const app = new App({ context: cdkJsonContext, outdir: join(outdir, `audit-${auditRetentionDays ?? 'default'}`) });
    return Template.fromStack(
      new DataStack(app, 'Data', {
        deletionProtection: false,
        stage: 'prod',
        ...(auditRetentionDays === undefined ? {} : { auditRetentionDays }),
      }),
    );
  };
  let template: Template;
  beforeAll(() => {
    template = synth();
  });
  // biome-ignore lint/suspicious/noExplicitAny: template resources are untyped JSON
  const only = (type: string): any => {
    const found = Object.values(template.findResources(type));
    expect(found).toHaveLength(1);
    return found[0];
  };

  it('signs with an asymmetric P-256 key that can only sign and verify, kept when the stack goes', () => {
    const key = only('AWS::KMS::Key');
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(key.Properties.EnableKeyRotation).toBeUndefined(); // asymmetric keys do not rotate
    expect(key.DeletionPolicy).toBe('Retain');
  });

  it('keeps checkpoints in a bucket with Object Lock in compliance mode by default, versioned, encrypted, private, kept for ever', () => {
    const bucket = only('AWS::S3::Bucket');
    expect(bucket.Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 365 } },
      },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketName: {
        'Fn::Join': ['', ['slipway-prod-audit-checkpoints-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]],
      },
    });
    // Even a dev stage (no deletion protection) keeps it: its objects could not be deleted anyway.
    expect(bucket.DeletionPolicy).toBe('Retain');
  });

  it('refuses every delete and every request without TLS, whoever asks', () => {
    const statements = only('AWS::S3::BucketPolicy').Properties.PolicyDocument.Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(statements.filter((s: { Effect: string }) => s.Effect === 'Allow')).toEqual([]);
  });

  it('takes the retention period from the configuration', () => {
    const bucket = Object.values(synth(2555).findResources('AWS::S3::Bucket'))[0];
    expect(bucket?.Properties.ObjectLockConfiguration.Rule.DefaultRetention).toEqual({
      Mode: 'COMPLIANCE',
      Days: 2555,
    });
  });
});
