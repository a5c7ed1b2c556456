import { lambda, type Middleware } from '../lambda.ts';
import { logger } from '../logger.ts';

/** What a state machine task passes (its `Parameters`): the action, the deployment, and the action's fields. */
export interface StepInput {
  action: string;
  deployment_id: string;
  [field: string]: unknown;
}

/** What the build workflow's tasks pass: the action, the build, and the action's fields. */
export interface BuildStepInput {
  action: string;
  build_id: string;
  [field: string]: unknown;
}

export type Action<Input = StepInput> = (input: Input) => Promise<unknown>;

/**
 * The kernel of a workflow step function (inside the one Lambda wrapper): the state machine passes
 * `{ action, deployment_id, … }` (or `build_id`, or a pipeline's `run_id`) and gets the action's result back. A thrown error
 * keeps its `name`, which is what the state machine's Retry and Catch match (e.g.
 * `ClusterUnreachable` is retried, `ClusterRejected` is not).
 */
export function workflowStep<Input extends { action: string } = StepInput>(
  actions: Record<string, Action<Input>>,
  extra: readonly Middleware[] = [],
) {
  return lambda(async (input: Input): Promise<unknown> => {
    const action = actions[input?.action];
    if (!action) throw Object.assign(new Error(`Unknown step action '${input?.action}'`), { name: 'InvalidStepInput' });
    try {
      return await action(input);
    } catch (error) {
      const { deployment_id, build_id, run_id } = input as Partial<StepInput & BuildStepInput & { run_id: string }>;
      logger.warn('workflow step failed', { action: input.action, deployment_id, build_id, run_id, error });
      throw error;
    }
  }, extra);
}

/** `{ Error, Cause }` as a Catch puts it in the state, told in a sentence for the deployment's reason. */
export function describeFailure(failure: unknown): string {
  const { Error: name, Cause: cause } = (failure ?? {}) as { Error?: string; Cause?: string };
  let message = cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: string };
    if (parsed.errorMessage) message = parsed.errorMessage;
  } catch {
    // A plain-text cause (SendTaskFailure, States.Timeout) is already the message.
  }
  return [name, message].filter(Boolean).join(': ').slice(0, 1000) || 'unknown failure';
}
