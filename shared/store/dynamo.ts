import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { MiddlewareStack } from '@smithy/types';
import { config } from '../config.ts';
import { storeUnavailable } from '../errors.ts';

/**
 * One client per container, created at module scope so warm invocations reuse its connections.
 * The endpoint comes from the standard AWS_ENDPOINT_URL_DYNAMODB when set (the local cloud).
 * Timeouts are short next to DynamoDB's milliseconds, so a store that does not answer fails the
 * request (after the SDK's retries) well inside the function's own timeout.
 */
export const documentClient = DynamoDBDocumentClient.from(
  new DynamoDBClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 } }),
  { marshallOptions: { removeUndefinedValues: true } },
);

export const tableName = (): string => config.tableName;

/**
 * A store that is throttling, failing or unreachable after the SDK's retries becomes a 503
 * problem with Retry-After: nothing was written, and the client may try again. Added at the
 * initialize step, so it sees the outcome after every retry. Every store client gets it (the
 * table here, the audit checkpoints' bucket and key in shared/audit/checkpoint-store.ts).
 */
export function outagesAsProblem<C extends { middlewareStack: Pick<MiddlewareStack<object, object>, 'add'> }>(
  client: C,
): C {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        throw isTransient(error) ? storeUnavailable() : error;
      }
    },
    { step: 'initialize', name: 'storeUnavailableAsProblem' },
  );
  return client;
}

outagesAsProblem(documentClient);

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

function isTransient(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; errors?: unknown[] };
  if (!e || typeof e !== 'object') return false;
  if (TRANSIENT_NAMES.has(e.name ?? '') || NETWORK_CODES.has(e.code ?? '')) return true;
  if ((e.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  // Node reports a refused dual-stack connect as an AggregateError of per-address errors.
  return Array.isArray(e.errors) && e.errors.some(isTransient);
}
