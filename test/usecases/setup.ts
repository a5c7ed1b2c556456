/**
 * Use-case tests call the core directly — no gateway, no HTTP — against the run's DynamoDB Local
 * (test/integration/global-setup.ts), each file with a table of its own. This runs before the test
 * file's imports, so the store's client is created pointing here.
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { ensureTable, localDynamoClient } from '../../infra/local/dynamodb.ts';

const endpoint = inject('dynamoEndpoint');
const table = `slipway-usecase-${randomUUID().slice(0, 8)}`;
Object.assign(process.env, {
  TABLE_NAME: table,
  AWS_ENDPOINT_URL_DYNAMODB: endpoint,
  AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
  AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
  AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
  POWERTOOLS_LOG_LEVEL: 'WARN',
});
await ensureTable(localDynamoClient(endpoint), table);
