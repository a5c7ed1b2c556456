/**
 * Vitest globalSetup of the integration project: ONE DynamoDB Local (in memory, on a free port)
 * for the whole run, shared by every test file through `inject('dynamoEndpoint')`. Files stay
 * isolated because each uses its own table (see harness.ts).
 *
 * SLIPWAY_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:8000 reuses a DynamoDB you started yourself
 * (saves the JVM boot on repeated runs).
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../infra/local/dynamodb.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The DynamoDB endpoint shared by every integration test file of the run. */
    dynamoEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const existing = process.env.SLIPWAY_TEST_DYNAMODB_ENDPOINT;
  if (existing) {
    project.provide('dynamoEndpoint', existing);
    return async () => {};
  }
  const dynamo = await startDynamoDbLocal();
  project.provide('dynamoEndpoint', dynamo.endpoint);
  return () => dynamo.stop();
}
