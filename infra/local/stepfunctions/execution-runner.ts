/**
 * Runs one execution on aws-local-stepfunctions: every Task goes through our runTask, the
 * Context object carries the execution's ids and mints `$$.Task.Token`, the library's event log
 * becomes the AWS history (state entered/exited, Map iterations), and the outcome ends the record.
 */
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { type AslObject, definitionForRun, type TaskHandlerInput } from './definition.ts';
import type { ExecutionEnd, ExecutionRecord, ExecutionStore } from './executions.ts';
import { type LocalTask, runTask, type TaskEnvironment } from './task-runner.ts';
import type { TaskTokens } from './task-tokens.ts';

/** Test knobs per state machine, applied to executions started after they are set. */
export interface MachineOverrides {
  /** Wait state name → how long it waits, in milliseconds. */
  waitTimeOverrides?: Record<string, number>;
  /** State name → pause before each retry in milliseconds (one number, or one per retrier). */
  retryIntervalOverrides?: Record<string, number | number[]>;
  /** Task state name → its TimeoutSeconds (fractions allowed). */
  taskTimeoutOverrides?: Record<string, number>;
  /** Task state name → its HeartbeatSeconds (fractions allowed). */
  heartbeatOverrides?: Record<string, number>;
}

export interface LocalStateMachine {
  arn: string;
  name: string;
  definition: AslObject;
  tasks: Map<string, LocalTask>;
  /** Epoch milliseconds. */
  creationDate: number;
}

/** JSON as the library types it (it does not export its JSONValue). */
type Json = Parameters<StateMachine['run']>[0];

export interface RunnerDeps {
  store: ExecutionStore;
  tokens: TaskTokens;
  region: string;
  roleArn: string;
}

export interface ExecutionRun {
  abort(): void;
  /** Settles once the record has its end and the event log is fully recorded. */
  done: Promise<void>;
}

export function runExecution(
  deps: RunnerDeps,
  machine: LocalStateMachine,
  record: ExecutionRecord,
  overrides: MachineOverrides,
): ExecutionRun {
  const { store, tokens } = deps;
  const executionEnded = new AbortController();
  const env: TaskEnvironment = {
    caller: { executionArn: record.executionArn, stateMachineArn: machine.arn, traceHeader: record.traceHeader },
    region: deps.region,
    tokens,
    signal: executionEnded.signal,
    record: (type, details) => {
      if (record.status === 'RUNNING') store.append(record, type, details);
    },
  };
  const handlers = Object.fromEntries(
    [...machine.tasks].map(([name, task]) => [
      name,
      (input: unknown) =>
        runTask(env, task, input as TaskHandlerInput, {
          timeoutSeconds: overrides.taskTimeoutOverrides?.[name],
          heartbeatSeconds: overrides.heartbeatOverrides?.[name],
        }) as Promise<Json>,
    ]),
  );
  const definition = definitionForRun(machine.definition, overrides.taskTimeoutOverrides);
  // Validated once when the machine was created; this copy carries our rewrites.
  const stateMachine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
  const run = stateMachine.run(JSON.parse(record.input) as Json, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      waitTimeOverrides: overrides.waitTimeOverrides ?? {},
      retryIntervalOverrides: overrides.retryIntervalOverrides ?? {},
    },
    context: {
      Execution: { Id: record.executionArn, Name: record.name, RoleArn: deps.roleArn },
      StateMachine: { Id: machine.arn, Name: machine.name },
      Task: {
        // A fresh token each time the ASL reads $$.Task.Token; the task claims the one it sent.
        get Token() {
          return tokens.mint(record.executionArn);
        },
      },
    },
  });

  const done = Promise.allSettled([run.result, recordStateEvents(store, record, run.eventLogs)]).then(([outcome]) => {
    store.end(record, endOf(outcome));
    // Tasks still running (stopped execution, a Parallel branch cut short) end with the execution.
    executionEnded.abort();
    tokens.releaseExecution(record.executionArn, 'States.Runtime', 'The execution has ended');
  });
  return { abort: run.abort, done };
}

type EventLogs = ReturnType<StateMachine['run']>['eventLogs'];

/** Task events come from runTask; the library's log gives the rest (its execution events are ours to write). */
async function recordStateEvents(store: ExecutionStore, record: ExecutionRecord, events: EventLogs): Promise<void> {
  for await (const event of events) {
    if (record.status !== 'RUNNING') continue;
    switch (event.type) {
      case 'StateEntered': {
        const details = {
          name: event.state.name,
          input: JSON.stringify(event.state.input),
          inputDetails: { truncated: false },
        };
        store.countTransition(record);
        store.append(record, `${event.state.type}StateEntered`, details, 'stateEnteredEventDetails');
        break;
      }
      case 'StateExited': {
        const details = {
          name: event.state.name,
          output: JSON.stringify(event.state.output),
          outputDetails: { truncated: false },
        };
        store.append(record, `${event.state.type}StateExited`, details, 'stateExitedEventDetails');
        break;
      }
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        store.append(record, event.type, { name: event.parentState.name, index: event.index });
        break;
    }
  }
}

function endOf(outcome: PromiseSettledResult<unknown>): ExecutionEnd {
  if (outcome.status === 'fulfilled') return { status: 'SUCCEEDED', output: JSON.stringify(outcome.value) };
  const failure: unknown = outcome.reason;
  if (failure instanceof ExecutionTimeoutError) {
    return { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution ran longer than its TimeoutSeconds' };
  }
  // StopExecution has already ended the record; this end is then ignored.
  if (failure instanceof ExecutionAbortedError) return { status: 'ABORTED' };
  const error = failure instanceof ExecutionError && failure.cause instanceof Error ? failure.cause : failure;
  return error instanceof Error
    ? { status: 'FAILED', error: error.name, cause: error.message }
    : { status: 'FAILED', error: 'States.Runtime', cause: String(error) };
}
