import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AttributeType, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectLockRetention, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { tableSchema } from '../../shared/store/table-schema.ts';
import { type AuditCheckpoints, auditBucketName } from './platform-function.ts';

export interface DataStackProps extends StackProps {
  deletionProtection: boolean;
  /** Names the audit checkpoint bucket. */
  stage?: string;
  /** Object Lock retention of each audit checkpoint, in days. */
  auditRetentionDays?: number;
}

/**
 * The stateful part: the one table and its stream (`table.tableStreamArn`), and the audit
 * checkpoints' signing key and Object Lock bucket (ADR 15). It lives in its own stack so the
 * stateless stacks can be replaced, renamed or torn down without putting data at risk.
 */
export class DataStack extends Stack {
  readonly table: TableV2;
  readonly auditCheckpoints: AuditCheckpoints;
  readonly auditBucket: Bucket;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);

    const key = (name: string) => ({ name, type: AttributeType.STRING });
    this.table = new TableV2(this, 'Table', {
      // No tableName: CloudFormation names it, so stages never collide; functions get TABLE_NAME.
      partitionKey: key(tableSchema.partitionKey),
      sortKey: key(tableSchema.sortKey),
      globalSecondaryIndexes: tableSchema.globalSecondaryIndexes.map((gsi) => ({
        indexName: gsi.indexName,
        partitionKey: key(gsi.partitionKey),
        sortKey: key(gsi.sortKey),
      })),
      timeToLiveAttribute: tableSchema.timeToLiveAttribute,
      // New outbox items feed the event publisher (DeliveryStack); it needs only the new image.
      dynamoStream: StreamViewType.NEW_IMAGE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection,
      // A protected table also outlives its stack; an unprotected (dev) one goes with it.
      removalPolicy: props.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const stage = props.stage ?? 'dev';
    this.auditBucket = checkpointBucket(this, stage, props.auditRetentionDays ?? 365);
    this.auditCheckpoints = { stage, key: checkpointKey(this), retentionDays: props.auditRetentionDays ?? 365 };
    new CfnOutput(this, 'AuditCheckpointBucket', { value: this.auditBucket.bucketName });
    new CfnOutput(this, 'AuditCheckpointKeyArn', { value: this.auditCheckpoints.key.keyArn });
  }
}

/**
 * Signs audit checkpoints: an asymmetric KMS key (P-256, sign/verify only; its private half never
 * leaves KMS). It outlives the stack: old checkpoints are verified with its public key for years.
 */
const checkpointKey = (scope: Construct) =>
  new Key(scope, 'AuditCheckpointKey', {
    description: 'Signs Slipway audit checkpoints (only the audit checkpointer may Sign)',
    keySpec: KeySpec.ECC_NIST_P256,
    keyUsage: KeyUsage.SIGN_VERIFY,
    removalPolicy: RemovalPolicy.RETAIN,
  });

/**
 * Keeps audit checkpoints: nobody can delete or change one before its retention ends, not even the
 * account root (Object Lock, compliance mode). It outlives the stack (its objects could not go anyway).
 */
function checkpointBucket(scope: Construct, stage: string, retentionDays: number): Bucket {
  const bucket = new Bucket(scope, 'AuditCheckpoints', {
    bucketName: auditBucketName(stage),
    objectLockEnabled: true,
    objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(retentionDays)),
    versioned: true, // Object Lock requires it: an overwrite would be a new version, the locked one stays
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // On a versioned bucket a DeleteObject would only add a delete marker, but that hides the newest
  // checkpoint: nobody may delete anything here, whatever their IAM policies say.
  bucket.addToResourcePolicy(
    new PolicyStatement({
      sid: 'NoDeletes',
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
      resources: [bucket.arnForObjects('*')],
    }),
  );
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'Only the checkpointer role writes here and every object is signed and immutable; access to it is recorded by CloudTrail (a second log bucket would need the same treatment).',
  });
  return bucket;
}
