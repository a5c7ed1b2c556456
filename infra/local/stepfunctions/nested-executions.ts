/**
 * The `states:startExecution` integration: a Task starts an execution of another state machine of
 * this same local Step Functions, as AWS documents it and as its responses were seen on AWS:
 *
 * - plain and `.waitForTaskToken`: the task's result is `{ExecutionArn, StartDate}` (no Sdk*
 *   metadata, as lambda:invoke here);
 * - `.sync` / `.sync:2`: TaskSubmitted carries that start result, then the task waits for the child
 *   and returns its DescribeExecution, PascalCase, keys in alphabetical order, dates in epoch
 *   milliseconds; `.sync` keeps Input/Output as JSON text, `.sync:2` parses them. A child that does
 *   not succeed fails the task with `States.TaskFailed` whatever its own error, the Cause being that
 *   description as JSON text (Input still as text under `.sync:2` too);
 * - a refused start fails the task with `StepFunctions.<Code>Exception` (ExecutionAlreadyExists,
 *   StateMachineDoesNotExist, InvalidName...), the Cause in the AWS SDK's words;
 * - a `.sync` task that ends before its child (parent stopped or failed, task timeout) stops the
 *   child: AWS's policy for `.sync` grants states:StopExecution for this, and a job it managed is
 *   stopped when the Task state is aborted.
 */
import { randomUUID } from 'node:crypto';
import { AwsServiceError } from '../aws-endpoint.ts';
import { StatesRuntimeError, taskError } from './errors.ts';
import type { ExecutionRecord } from './executions.ts';
import type { ChildExecutions, ServiceCall } from './integration-types.ts';

/** What the integration needs from the local Step Functions. */

export const startExecution: ServiceCall = async (deps, parameters, attempt, pattern) => {
  const executions = deps.executions;
  if (executions === undefined) throw new StatesRuntimeError('No executions for states:startExecution');
  const { StateMachineArn, Name, Input } = parameters;
  if (typeof StateMachineArn !== 'string') {
    throw new StatesRuntimeError('states:startExecution needs Parameters.StateMachineArn');
  }
  const child = startChild(executions, {
    stateMachineArn: StateMachineArn,
    ...(Name === undefined || Name === null ? {} : { name: String(Name) }),
    // As AWS: Input may be JSON text or any JSON value; none means `{}`.
    input: Input === undefined || Input === null ? '{}' : typeof Input === 'string' ? Input : JSON.stringify(Input),
    // A child execution is part of its parent's trace, as X-Ray shows nested workflows on AWS.
    traceHeader: attempt.traceHeader,
  });
  const started = { ExecutionArn: child.executionArn, StartDate: child.startDate };
  if (pattern !== '.sync' && pattern !== '.sync:2') return started;

  attempt.submitted(started);
  const stopChild = () =>
    executions.stop(child.executionArn, `The Task state of ${attempt.executionArn} that started it has ended`);
  if (attempt.signal.aborted) stopChild();
  attempt.signal.addEventListener('abort', stopChild, { once: true });
  const ended = await executions.ended(child.executionArn);
  attempt.signal.removeEventListener('abort', stopChild);
  if (ended.status !== 'SUCCEEDED') throw taskError('States.TaskFailed', JSON.stringify(describe(ended, false)));
  return describe(ended, pattern === '.sync:2');
};

function startChild(executions: ChildExecutions, request: Parameters<ChildExecutions['start']>[0]): ExecutionRecord {
  try {
    return executions.start(request);
  } catch (error) {
    if (!(error instanceof AwsServiceError)) throw error;
    const details = `Service: AWSStepFunctions; Status Code: ${error.status}; Error Code: ${error.name}; Request ID: ${randomUUID()}; Proxy: null`;
    throw taskError(`StepFunctions.${error.name}Exception`, `${error.message} (${details})`);
  }
}

/** DescribeExecution as the integration returns it; `parsed` turns Input and Output into JSON values. */
function describe(record: ExecutionRecord, parsed: boolean) {
  const data = (text: string): unknown => (parsed ? JSON.parse(text) : text);
  return {
    ...(record.cause === undefined ? {} : { Cause: record.cause }),
    ...(record.error === undefined ? {} : { Error: record.error }),
    ExecutionArn: record.executionArn,
    Input: data(record.input),
    InputDetails: { Included: true },
    Name: record.name,
    ...(record.output === undefined ? {} : { Output: data(record.output), OutputDetails: { Included: true } }),
    StartDate: record.startDate,
    StateMachineArn: record.stateMachineArn,
    Status: record.status,
    StopDate: record.stopDate,
  };
}
