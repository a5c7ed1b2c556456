/**
 * The port to the deploy, rollback and pipeline state machines. Executions are named after what
 * they run (the deployment, the pipeline run), so a repeated start is the same execution, never a
 * second one.
 */
import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { Transient } from '../errors.ts';

const sfn = new SFNClient({});

/** A state machine this port starts and stops; its input names the deployment or the run. */
export type Workflow = 'deploy' | 'rollback' | 'pipeline';

const machineArn = (kind: Workflow): string => {
  const variable = `${kind.toUpperCase()}_STATE_MACHINE_ARN`;
  const arn = process.env[variable];
  if (!arn) throw new Error(`${variable} is not set`);
  return arn;
};

const inputOf = (kind: Workflow, id: string) => (kind === 'pipeline' ? { run_id: id } : { deployment_id: id });

export const workflowUnavailable = () =>
  new Transient(
    'workflow-unavailable',
    'The deployment could not be started; it was recorded as failed. Retry shortly.',
    5,
    'unavailable',
  );

export async function startWorkflow(kind: Workflow, id: string): Promise<void> {
  await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: machineArn(kind),
      name: id,
      input: JSON.stringify(inputOf(kind, id)),
    }),
  );
}

/** Stops the execution of the deployment or run (no step runs after this); false when it had ended already. */
export async function stopWorkflow(kind: Workflow, id: string, cause: string): Promise<boolean> {
  const executionArn = `${machineArn(kind).replace(':stateMachine:', ':execution:')}:${id}`;
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
