import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One client per container, created at module scope so warm invocations reuse its connections.
 * The endpoint comes from the standard AWS_ENDPOINT_URL_DYNAMODB when set (the local cloud).
 */
export const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

export const tableName = (): string => process.env.TABLE_NAME ?? 'slipway';
