/**
 * What a Task's `Resource` does locally, with the results and error names AWS gives:
 * a plain Lambda ARN, the optimized integrations `lambda:invoke`, `dynamodb:getItem|putItem|
 * updateItem|deleteItem`, `events:putEvents` and `states:startExecution` (nested-executions.ts),
 * `.waitForTaskToken` on lambda:invoke, events:putEvents and states:startExecution, and `.sync` /
 * `.sync:2` on states:startExecution. Anything else fails the execution with a States.Runtime
 * error saying so.
 */
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { StatesRuntimeError, taskError } from './errors.ts';
import type { Integration, IntegrationDeps, ServiceCall, TaskCaller } from './integration-types.ts';
import { startExecution } from './nested-executions.ts';

export type {
  Integration,
  IntegrationDeps,
  PutEventsResult,
  ServiceCall,
  TaskAttempt,
  TaskCaller,
} from './integration-types.ts';

const SERVICE_CALLS: Record<string, ServiceCall> = {
  'lambda:invoke': lambdaInvoke,
  'dynamodb:getItem': (deps, input) => dynamo(deps, (client) => client.send(new GetItemCommand(input as never))),
  'dynamodb:putItem': (deps, input) => dynamo(deps, (client) => client.send(new PutItemCommand(input as never))),
  'dynamodb:updateItem': (deps, input) => dynamo(deps, (client) => client.send(new UpdateItemCommand(input as never))),
  'dynamodb:deleteItem': (deps, input) => dynamo(deps, (client) => client.send(new DeleteItemCommand(input as never))),
  'events:putEvents': putEvents,
  'states:startExecution': startExecution,
};

/** The integrations AWS lets wait for a task token (of the ones served here). */
const WAIT_FOR_TASK_TOKEN = new Set(['lambda:invoke', 'events:putEvents', 'states:startExecution']);
/** The integrations AWS lets run a job (`.sync`, `.sync:2`) (of the ones served here). */
const RUN_A_JOB = new Set(['states:startExecution']);

const LAMBDA_ARN = /^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$/;
const SERVICE_ARN = /^arn:aws[\w-]*:states:::([\w-]+):(\w+)(\.waitForTaskToken|\.sync(?::2)?)?$/;

export function integrationFor(resourceArn: string, deps: IntegrationDeps): Integration {
  if (LAMBDA_ARN.test(resourceArn)) {
    return {
      resourceType: 'lambda',
      resource: resourceArn,
      plainLambda: true,
      waitForTaskToken: false,
      call: (payload, attempt) => invoke(deps, resourceArn, payload, attempt.traceHeader),
    };
  }
  const [, service = '', action = '', pattern = ''] = SERVICE_ARN.exec(resourceArn) ?? [];
  const name = `${service}:${action}`;
  const serviceCall = SERVICE_CALLS[name];
  const waitForTaskToken = pattern === '.waitForTaskToken';
  const supported =
    serviceCall !== undefined && (pattern === '' || (waitForTaskToken ? WAIT_FOR_TASK_TOKEN : RUN_A_JOB).has(name));
  return {
    resourceType: service || 'unknown',
    resource: `${action}${pattern}` || resourceArn,
    plainLambda: false,
    waitForTaskToken,
    call: supported
      ? (parameters, attempt) => serviceCall(deps, asObject(parameters), attempt, pattern)
      : () => Promise.reject(new StatesRuntimeError(unsupported(resourceArn))),
  };
}

function unsupported(resourceArn: string): string {
  return (
    `Resource '${resourceArn}' is not supported by the local Step Functions. Supported: Lambda function ARNs, ` +
    `${Object.keys(SERVICE_CALLS).join(', ')}, .waitForTaskToken on ${[...WAIT_FOR_TASK_TOKEN].join(', ')}, ` +
    `and .sync / .sync:2 on ${[...RUN_A_JOB].join(', ')}`
  );
}

/** lambda:invoke answers like the Lambda Invoke API, so ASL reads the result at `$.Payload`. */
async function lambdaInvoke(
  deps: IntegrationDeps,
  parameters: Record<string, unknown>,
  caller: TaskCaller,
): Promise<unknown> {
  const functionName = parameters.FunctionName;
  if (typeof functionName !== 'string') throw new StatesRuntimeError('lambda:invoke needs Parameters.FunctionName');
  const arn = functionName.startsWith('arn:')
    ? functionName
    : `arn:aws:lambda:${deps.region}:${deps.accountId}:function:${functionName}`;
  const payload = await invoke(deps, arn, parameters.Payload ?? {}, caller.traceHeader);
  return { ExecutedVersion: '$LATEST', Payload: payload ?? null, StatusCode: 200 };
}

/** A function error fails the task with its errorType; the Cause is the error payload as JSON, as on AWS. */
async function invoke(
  deps: IntegrationDeps,
  functionArn: string,
  payload: unknown,
  traceHeader: string,
): Promise<unknown> {
  try {
    return await deps.invokeFunction(functionArn, payload, traceHeader);
  } catch (error) {
    const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
    throw taskError(name, JSON.stringify({ errorType: name, errorMessage: message }));
  }
}

/** The error names Step Functions passes through as `DynamoDB.<name>`; others are `DynamoDB.AmazonDynamoDBException`. */
const DYNAMODB_ERRORS = new Set([
  'ConditionalCheckFailedException',
  'ProvisionedThroughputExceededException',
  'ResourceNotFoundException',
  'ItemCollectionSizeLimitExceededException',
  'TransactionConflictException',
  'RequestLimitExceeded',
]);

/** The ASL Parameters are the API input as is (AttributeValue JSON); the output is the API's, less `$metadata`. */
async function dynamo(
  deps: IntegrationDeps,
  send: (client: DynamoDBClient) => Promise<{ $metadata: unknown }>,
): Promise<unknown> {
  if (deps.dynamo === undefined)
    throw new StatesRuntimeError('No DynamoDB endpoint configured for the local Step Functions');
  try {
    const { $metadata, ...output } = await send(deps.dynamo);
    return output;
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    const errorName = `DynamoDB.${DYNAMODB_ERRORS.has(name) ? name : 'AmazonDynamoDBException'}`;
    throw taskError(errorName, `${message} (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ${name})`);
  }
}

/** As AWS: Detail objects are sent as JSON text, the execution and machine ARNs join each entry's Resources. */
async function putEvents(
  deps: IntegrationDeps,
  parameters: Record<string, unknown>,
  caller: TaskCaller,
): Promise<unknown> {
  if (deps.putEvents === undefined)
    throw new StatesRuntimeError('No EventBridge configured for the local Step Functions');
  const entries = ((parameters.Entries ?? []) as Record<string, unknown>[]).map((entry) => ({
    ...entry,
    ...(entry.Detail !== undefined && typeof entry.Detail !== 'string' ? { Detail: JSON.stringify(entry.Detail) } : {}),
    Resources: [...((entry.Resources as string[] | undefined) ?? []), caller.executionArn, caller.stateMachineArn],
  }));
  const result = await deps.putEvents(entries);
  if (result.FailedEntryCount > 0) throw taskError('EventBridge.FailedEntry', JSON.stringify(result));
  return { Entries: result.Entries, FailedEntryCount: result.FailedEntryCount };
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}
