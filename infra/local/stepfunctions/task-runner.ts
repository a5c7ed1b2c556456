/**
 * One attempt of a Task state, as aws-local-stepfunctions calls it (the state's local handler):
 * calls the integration, waits for the task token answer when the Resource says so, enforces
 * HeartbeatSeconds (the library ignores it), and records the attempt's history events the way
 * AWS names them (TaskScheduled ... TaskSucceeded, or LambdaFunction* for a plain Lambda ARN).
 * An attempt that ends another way than by its integration's answer (timeout, the execution
 * ended) aborts the signal its integration holds, so a `.sync` job is stopped.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { NO_TIMEOUT_SECONDS, secondsFor, type TaskHandlerInput, type TaskSpec } from './definition.ts';
import { taskError } from './errors.ts';
import type { Integration, TaskAttempt, TaskCaller } from './integrations.ts';
import type { TaskTokens } from './task-tokens.ts';

export interface TaskEnvironment {
  caller: TaskCaller;
  region: string;
  tokens: TaskTokens;
  /** Aborted when the execution has ended: its tasks still running end with it. */
  signal: AbortSignal;
  /** Appends to the execution's history while the execution runs. */
  record(type: string, details?: object): void;
}

/** Test overrides of the ASL's TimeoutSeconds / HeartbeatSeconds, in seconds. */
export interface TaskLimitOverrides {
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
}

export interface LocalTask {
  spec: TaskSpec;
  integration: Integration;
}

export async function runTask(
  env: TaskEnvironment,
  { spec, integration }: LocalTask,
  handlerInput: TaskHandlerInput,
  overrides: TaskLimitOverrides,
): Promise<unknown> {
  const parameters = 'parameters' in handlerInput ? handlerInput.parameters : handlerInput.input;
  const timeoutSeconds =
    overrides.timeoutSeconds ?? secondsFor(spec.timeoutSeconds, spec.timeoutSecondsPath, handlerInput.input);
  const heartbeatSeconds = integration.waitForTaskToken
    ? (overrides.heartbeatSeconds ?? secondsFor(spec.heartbeatSeconds, spec.heartbeatSecondsPath, handlerInput.input))
    : undefined;
  const prefix = integration.plainLambda ? 'LambdaFunction' : 'Task';
  const resource = integration.plainLambda
    ? {}
    : { resourceType: integration.resourceType, resource: integration.resource };

  const { promise, resolve, reject } = Promise.withResolvers<unknown>();
  let ended = false;
  let token: string | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  const attemptEnded = new AbortController();

  const end = (type: string, details: object, settle: () => void): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timeoutTimer);
    clearTimeout(heartbeatTimer);
    env.signal.removeEventListener('abort', endWithExecution);
    attemptEnded.abort();
    if (token !== undefined) env.tokens.release(token);
    env.record(`${prefix}${type}`, { ...resource, ...details });
    settle();
  };
  // The history has ended with the execution: nothing is recorded, the library has stopped listening.
  const endWithExecution = (): void => end('Aborted', {}, () => {});
  env.signal.addEventListener('abort', endWithExecution, { once: true });
  const succeed = (output: unknown): void =>
    end('Succeeded', { output: JSON.stringify(output), outputDetails: { truncated: false } }, () => resolve(output));
  const fail = (error: Error): void => end('Failed', { error: error.name, cause: error.message }, () => reject(error));
  const armHeartbeat = (): void => {
    if (heartbeatSeconds === undefined || ended) return;
    clearTimeout(heartbeatTimer);
    heartbeatTimer = setTimeout(() => {
      const error = taskError('States.HeartbeatTimeout', `No heartbeat for ${heartbeatSeconds} s`);
      end('TimedOut', { error: error.name, cause: error.message }, () => reject(error));
    }, timerMs(heartbeatSeconds));
  };

  // Both before the first await. The token was minted while the library built these parameters.
  if (integration.waitForTaskToken) {
    token = env.tokens.claim(env.caller.executionArn, parameters, {
      succeed,
      fail: (error, cause) => fail(taskError(error, cause)),
      heartbeat: armHeartbeat,
    });
  }
  if (timeoutSeconds !== undefined) {
    // The library's own timer (same delay, set just after this one) raises States.Timeout;
    // this one only records it and retires the token.
    const cause = `Task ran longer than ${timeoutSeconds} s`;
    timeoutTimer = setTimeout(
      () => end('TimedOut', { error: 'States.Timeout', cause }, () => {}),
      timerMs(timeoutSeconds),
    );
  }

  // Let the execution's event log record TaskStateEntered before this attempt's events.
  await nextTurn();
  if (ended) return promise;
  env.record(
    `${prefix}Scheduled`,
    integration.plainLambda
      ? { resource: integration.resource, input: JSON.stringify(parameters), timeoutInSeconds: timeoutSeconds }
      : {
          ...resource,
          region: env.region,
          parameters: JSON.stringify(parameters),
          timeoutInSeconds: timeoutSeconds,
          heartbeatInSeconds: heartbeatSeconds,
        },
  );
  env.record(`${prefix}Started`, integration.plainLambda ? undefined : resource);
  armHeartbeat();

  const submitted = (output: unknown): void => {
    if (!ended) env.record('TaskSubmitted', { ...resource, output: JSON.stringify(output) });
  };
  const attempt: TaskAttempt = { ...env.caller, signal: attemptEnded.signal, submitted };
  integration.call(parameters, attempt).then(
    (result) => (integration.waitForTaskToken ? submitted(result) : succeed(result)),
    (error: unknown) => fail(error instanceof Error ? error : taskError('Error', String(error))),
  );
  return promise;
}

/** The same milliseconds the library computes, capped as definitionForRun caps its timeouts. */
function timerMs(seconds: number): number {
  return Math.min(seconds, NO_TIMEOUT_SECONDS) * 1e3;
}
