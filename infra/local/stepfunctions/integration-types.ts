/**
 * The shapes the local Step Functions' integrations share (integrations.ts, nested-executions.ts,
 * the task runner and the service), apart so that none of them imports another for a type.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ExecutionRecord } from './executions.ts';

export interface PutEventsResult {
  FailedEntryCount: number;
  Entries: unknown[];
}

export interface IntegrationDeps {
  region: string;
  accountId: string;
  /** Resolves with the function's result; rejects with `.name` = the Lambda errorType, `.message` = errorMessage. */
  invokeFunction(functionArn: string, payload: unknown, traceHeader: string): Promise<unknown>;
  dynamo?: DynamoDBClient;
  putEvents?(entries: Record<string, unknown>[]): Promise<PutEventsResult>;
  /** For states:startExecution: the local Step Functions' own executions. */
  executions?: ChildExecutions;
}

/** The execution a task runs in: events:putEvents stamps these ARNs on every entry. */
export interface TaskCaller {
  executionArn: string;
  stateMachineArn: string;
  /** The execution's X-Ray header: its function calls and nested executions continue that trace. */
  traceHeader: string;
}

/** One attempt of a Task, as its integration sees it. */
export interface TaskAttempt extends TaskCaller {
  /** Aborted once the attempt has ended another way (timeout, stopped execution): stop the job. */
  signal: AbortSignal;
  /** A `.sync` job has been started: the history's TaskSubmitted, with the start's output. */
  submitted(output: unknown): void;
}

export interface Integration {
  /** As the history names them: resourceType `lambda`, resource `invoke.waitForTaskToken`. */
  resourceType: string;
  resource: string;
  /** A plain Lambda ARN logs LambdaFunction* events; service integrations log Task* events. */
  plainLambda: boolean;
  /** The call only hands the task out; a task token answer ends it. */
  waitForTaskToken: boolean;
  call(parameters: unknown, attempt: TaskAttempt): Promise<unknown>;
}

/** `pattern` is the Resource's suffix: '', '.waitForTaskToken', '.sync' or '.sync:2'. */
export type ServiceCall = (
  deps: IntegrationDeps,
  parameters: Record<string, unknown>,
  attempt: TaskAttempt,
  pattern: string,
) => Promise<unknown>;

/** What states:startExecution needs of the local Step Functions: its own executions. */
export interface ChildExecutions {
  /** StartExecution itself: the same checks, errors and idempotency (throws AwsServiceError). */
  start(request: { stateMachineArn: string; name?: string; input: string; traceHeader: string }): ExecutionRecord;
  /** Settles with the record once the execution has ended. */
  ended(executionArn: string): Promise<ExecutionRecord>;
  /** StopExecution, if it still runs. */
  stop(executionArn: string, cause: string): void;
}
