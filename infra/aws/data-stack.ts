import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { tableSchema } from '../../shared/store/table-schema.ts';

export interface DataStackProps extends StackProps {
  deletionProtection: boolean;
}

/**
 * The stateful part: the one table and its stream (`table.tableStreamArn`). It lives in its own
 * stack so the stateless stacks can be replaced, renamed or torn down without putting data at risk.
 */
export class DataStack extends Stack {
  readonly table: TableV2;

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
  }
}
