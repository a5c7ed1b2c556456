/**
 * The one table's shape. `infra/aws` builds the TableV2 from it and `infra/local` creates the
 * DynamoDB Local table from it, so both runtimes index the same attributes.
 */
export const tableSchema = {
  partitionKey: 'PK',
  sortKey: 'SK',
  /** Items with this attribute (epoch seconds) expire: idempotency records, leases. */
  timeToLiveAttribute: 'expiresAt',
  globalSecondaryIndexes: [
    /** Lists by kind, e.g. every project, every cluster, every team. */
    { indexName: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' },
    /** Lists by parent, e.g. the apps of one project. */
    { indexName: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK' },
  ],
} as const;

export type IndexName = (typeof tableSchema.globalSecondaryIndexes)[number]['indexName'];
