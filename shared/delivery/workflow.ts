/**
 * The port to the state machines (deploy, rollback, build, pipeline). Executions are named after
 * the deployment, build or run, so a repeated start of the same one is the same execution, never a
 * second one.
 */
import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { config } from '../config.ts';
import { Transient } from '../errors.ts';
import { logger } from '../logger.ts';
import { WORKFLOW_START_FAILED } from '../telemetry/log-signals.ts';
import { traceHeader } from '../telemetry/trace-context.ts';

const sfn = new SFNClient({});

export type Machine = 'deploy' | 'rollback' | 'build' | 'pipeline';

const machineArn = (machine: Machine): string => config.stateMachineArn(machine);

export const workflowUnavailable = (what: 'deployment' | 'build' | 'run' = 'deployment') =>
  new Transient(
    'workflow-unavailable',
    `The ${what} could not be started; it was recorded as failed. Retry shortly.`,
    5,
    'unavailable',
  );

export async function startWorkflow(kind: 'deploy' | 'rollback', deploymentId: string): Promise<void> {
  await startExecution(kind, deploymentId, { deployment_id: deploymentId });
}

/** Starts `machine`'s execution `name` with `input`, in the caller's X-Ray trace (its steps join it). */
export async function startExecution(machine: Machine, name: string, input: Record<string, unknown>): Promise<void> {
  const trace = traceHeader();
  try {
    await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: machineArn(machine),
        name,
        input: JSON.stringify(input),
        ...(trace ? { traceHeader: trace } : {}),
      }),
    );
  } catch (error) {
    // Its callers answer 503 and record the failure; this line is what the start-failure alarm counts.
    logger.error(WORKFLOW_START_FAILED, { machine, execution: name, error });
    throw error;
  }
}

/** Stops the execution named `name` (no step runs after this); false when it had ended already. */
export async function stopWorkflow(machine: Machine, name: string, cause: string): Promise<boolean> {
  const executionArn = `${machineArn(machine).replace(':stateMachine:', ':execution:')}:${name}`;
  try {
    await sfn.send(new StopExecutionCommand({ executionArn, cause: cause.slice(0, 32_000) }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'ExecutionDoesNotExist') return false;
    throw error;
  }
}

/** Resumes the workflow waiting on an approval. False when the token is no longer valid (expired, stopped). */
export async function resumeWorkflow(token: string, output: Record<string, unknown>): Promise<boolean> {
  return answered(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) })));
}

/** Fails the waiting approval step with `error` (the state machine catches it by name). */
export async function failWorkflowStep(token: string, error: string, cause: string): Promise<boolean> {
  return answered(sfn.send(new SendTaskFailureCommand({ taskToken: token, error, cause: cause.slice(0, 32_000) })));
}

async function answered(call: Promise<unknown>): Promise<boolean> {
  try {
    await call;
    return true;
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'TaskTimedOut' || name === 'TaskDoesNotExist' || name === 'InvalidToken') return false;
    throw error;
  }
}
