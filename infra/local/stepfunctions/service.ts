/**
 * The local Step Functions: the SFN JSON API (served by aws-endpoint.ts under `AWSStepFunctions`)
 * over aws-local-stepfunctions, so function code runs our ASL unchanged with the real
 * @aws-sdk/client-sfn and AWS_ENDPOINT_URL_SFN.
 *
 * Differences from AWS: Standard workflows only; no versions, aliases, redrive, activities or
 * Express; `$$.State` and `$$.Task.Token` outside Task Parameters are not what AWS gives.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type AwsService, AwsServiceError } from '../aws-endpoint.ts';
import { continueTrace } from '../trace-header.ts';
import { type AslObject, taskSpecs } from './definition.ts';
import {
  type ExecutionRun,
  type LocalStateMachine,
  type MachineOverrides,
  type RunnerDeps,
  runExecution,
} from './execution-runner.ts';
import { type ExecutionRecord, ExecutionStore, pageSize } from './executions.ts';
import { type IntegrationDeps, integrationFor, type PutEventsResult } from './integrations.ts';
import { TaskTokens } from './task-tokens.ts';

export { validateDefinition } from './definition.ts';
export type { MachineOverrides } from './execution-runner.ts';

export interface LocalStepFunctionsOptions {
  region: string;
  accountId: string;
  /** Parsed ASL, after the `${...}` substitutions CDK would make. */
  stateMachines: { name: string; definition: object }[];
  /** Resolves with the function's result; rejects with `.name` = the Lambda errorType, `.message` = errorMessage. */
  invokeFunction(functionArn: string, payload: unknown, traceHeader: string): Promise<unknown>;
  /** For the dynamodb:* integrations. */
  dynamoEndpoint?: string;
  /** For the events:putEvents integration. */
  putEvents?(entries: Record<string, unknown>[]): Promise<PutEventsResult>;
  /** Execution records persist in `<dataDir>/stepfunctions/`; in memory without it. */
  dataDir?: string;
  /** By state machine name. */
  overrides?: Record<string, MachineOverrides>;
  /** Every execution that ends (succeeded, failed, timed out, aborted), as its status-change event. */
  onExecutionEnd?(record: ExecutionRecord): void;
}

export interface LocalStepFunctions {
  service: AwsService;
  /** States entered by the execution so far (Standard workflows bill per state transition). */
  transitions(executionArn: string): number;
  /** Replaces a machine's overrides for the executions started from now on. */
  setOverrides(machineName: string, overrides: MachineOverrides): void;
  /** Aborts running executions (their records say so) and writes everything out. */
  stop(): Promise<void>;
}

/** What AWS refuses in execution names: whitespace, brackets, wildcards, some punctuation, control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what AWS refuses here.
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

export function createLocalStepFunctions(options: LocalStepFunctionsOptions): LocalStepFunctions {
  const { region, accountId } = options;
  const dynamo =
    options.dynamoEndpoint === undefined
      ? undefined
      : new DynamoDBClient({
          endpoint: options.dynamoEndpoint,
          region,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        });
  const integrationDeps: IntegrationDeps = {
    region,
    accountId,
    invokeFunction: options.invokeFunction,
    ...(dynamo ? { dynamo } : {}),
    ...(options.putEvents ? { putEvents: options.putEvents } : {}),
    // Calls into the functions below, once a task runs.
    executions: {
      start: (request) => startExecution(request),
      ended: async (executionArn) => {
        await runs.get(executionArn)?.done;
        return executionFor(executionArn);
      },
      stop: (executionArn, cause) => stopExecution(executionFor(executionArn), undefined, cause),
    },
  };
  const machines = new Map<string, LocalStateMachine>();
  for (const { name, definition } of options.stateMachines) {
    const tasks = [...taskSpecs(definition as AslObject)].map(
      ([state, spec]) => [state, { spec, integration: integrationFor(spec.resource, integrationDeps) }] as const,
    );
    const arn = `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
    machines.set(arn, {
      arn,
      name,
      definition: definition as AslObject,
      tasks: new Map(tasks),
      creationDate: Date.now(),
    });
  }
  const overrides = new Map(Object.entries(options.overrides ?? {}));
  const deps: RunnerDeps = {
    store: new ExecutionStore(
      options.dataDir === undefined ? undefined : join(options.dataDir, 'stepfunctions'),
      options.onExecutionEnd,
    ),
    tokens: new TaskTokens(),
    region,
    roleArn: `arn:aws:iam::${accountId}:role/local-stepfunctions`,
  };
  const runs = new Map<string, ExecutionRun>();

  const machineFor = (arn: unknown): LocalStateMachine => {
    const machine = machines.get(String(arn));
    if (machine === undefined)
      throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  };
  const executionFor = (arn: unknown): ExecutionRecord => {
    const record = deps.store.get(String(arn));
    if (record === undefined) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return record;
  };

  /** StartExecution, for the API and for states:startExecution tasks. */
  const startExecution = (input: Record<string, unknown>): ExecutionRecord => {
    const machine = machineFor(input.stateMachineArn);
    const name = input.name === undefined ? randomUUID() : String(input.name);
    if (name.length === 0 || name.length > 80 || INVALID_NAME.test(name)) {
      throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
    }
    const text = input.input === undefined ? '{}' : String(input.input);
    if (!isJson(text))
      throw new AwsServiceError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not JSON');
    const executionArn = `arn:aws:states:${region}:${accountId}:execution:${machine.name}:${name}`;
    const existing = deps.store.get(executionArn);
    if (existing !== undefined) {
      // AWS: the same name and input while it still runs is an idempotent retry; anything else a conflict.
      if (existing.status === 'RUNNING' && existing.input === text) return existing;
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    // As a traced state machine on AWS: the caller's trace continues (StartExecution's traceHeader), else one starts.
    const traceHeader = continueTrace(typeof input.traceHeader === 'string' ? input.traceHeader : undefined);
    const record = deps.store.create({ executionArn, stateMachineArn: machine.arn, name, input: text, traceHeader });
    const run = runExecution(deps, machine, record, overrides.get(machine.name) ?? {});
    runs.set(executionArn, run);
    void run.done.finally(() => runs.delete(executionArn));
    return record;
  };

  const stopExecution = (record: ExecutionRecord, error: unknown, cause: unknown): void => {
    if (record.status !== 'RUNNING') return;
    deps.store.end(record, {
      status: 'ABORTED',
      ...(error === undefined ? {} : { error: String(error) }),
      ...(cause === undefined ? {} : { cause: String(cause) }),
    });
    runs.get(record.executionArn)?.abort();
    deps.tokens.releaseExecution(record.executionArn, 'States.Runtime', 'The execution was stopped');
  };

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    StartExecution: (input) => started(startExecution(input)),
    DescribeExecution: (input) => describeExecution(executionFor(input.executionArn)),
    StopExecution: (input) => {
      const record = executionFor(input.executionArn);
      stopExecution(record, input.error, input.cause);
      return { stopDate: epochSeconds(record.stopDate ?? Date.now()) };
    },
    GetExecutionHistory: (input) => executionHistory(executionFor(input.executionArn), input),
    ListExecutions: (input) => {
      const list = deps.store.list(machineFor(input.stateMachineArn).arn);
      const matching = input.statusFilter === undefined ? list : list.filter((r) => r.status === input.statusFilter);
      const { items, nextToken } = page(matching, (r) => r.seq, input);
      return { executions: items.map(executionListItem), ...(nextToken ? { nextToken } : {}) };
    },
    SendTaskSuccess: (input) => {
      const output = String(input.output ?? '');
      if (!isJson(output)) throw new AwsServiceError('InvalidOutput', 'Invalid Output: not JSON');
      deps.tokens.take(String(input.taskToken)).succeed(JSON.parse(output));
      return {};
    },
    SendTaskFailure: (input) => {
      deps.tokens.take(String(input.taskToken)).fail(String(input.error ?? ''), String(input.cause ?? ''));
      return {};
    },
    SendTaskHeartbeat: (input) => {
      deps.tokens.peek(String(input.taskToken)).heartbeat();
      return {};
    },
    DescribeStateMachine: (input) => describeStateMachine(machineFor(input.stateMachineArn), deps.roleArn),
    ListStateMachines: () => ({
      stateMachines: [...machines.values()].map((m) => ({
        stateMachineArn: m.arn,
        name: m.name,
        type: 'STANDARD',
        creationDate: epochSeconds(m.creationDate),
      })),
    }),
  };

  return {
    service: async (operation, input) => {
      const handle = operations[operation];
      if (handle === undefined) {
        throw new AwsServiceError('UnknownOperationException', `The local Step Functions has no ${operation}`);
      }
      return handle(input);
    },
    transitions: (executionArn) => {
      const record = deps.store.get(executionArn);
      if (record === undefined) throw new Error(`No execution ${executionArn}`);
      return record.transitions;
    },
    setOverrides: (machineName, machineOverrides) => {
      if (![...machines.values()].some((m) => m.name === machineName))
        throw new Error(`No state machine ${machineName}`);
      overrides.set(machineName, machineOverrides);
    },
    stop: async () => {
      // Kept on disk, running executions are ended by the next start (its consumers can record
      // that); in memory, they end now.
      if (options.dataDir !== undefined) deps.store.detach();
      for (const record of deps.store.running()) stopExecution(record, 'States.Runtime', 'The local cloud stopped');
      await Promise.allSettled([...runs.values()].map((run) => run.done));
      deps.store.flush();
      dynamo?.destroy();
    },
  };
}

function started(record: ExecutionRecord) {
  return { executionArn: record.executionArn, startDate: epochSeconds(record.startDate) };
}

function describeExecution(record: ExecutionRecord) {
  return {
    ...executionListItem(record),
    input: record.input,
    inputDetails: { included: true },
    traceHeader: record.traceHeader,
    ...(record.output === undefined ? {} : { output: record.output, outputDetails: { included: true } }),
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.cause === undefined ? {} : { cause: record.cause }),
  };
}

function executionListItem(record: ExecutionRecord) {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: epochSeconds(record.startDate),
    ...(record.stopDate === undefined ? {} : { stopDate: epochSeconds(record.stopDate) }),
  };
}

function executionHistory(record: ExecutionRecord, input: Record<string, unknown>) {
  const events = input.reverseOrder === true ? [...record.history].reverse() : record.history;
  const { items, nextToken } = page(events, (event) => event.id, input);
  return {
    events: items.map((event) => ({ ...event, timestamp: epochSeconds(event.timestamp) })),
    ...(nextToken ? { nextToken } : {}),
  };
}

function describeStateMachine(machine: LocalStateMachine, roleArn: string) {
  return {
    stateMachineArn: machine.arn,
    name: machine.name,
    status: 'ACTIVE',
    definition: JSON.stringify(machine.definition),
    roleArn,
    type: 'STANDARD',
    creationDate: epochSeconds(machine.creationDate),
  };
}

/** AWS-style paging over an ordered list; the token is the key of the last item returned. */
function page<T>(items: T[], key: (item: T) => number, input: Record<string, unknown>) {
  const size = pageSize(input.maxResults);
  if (Number.isNaN(size)) throw new AwsServiceError('ValidationException', 'maxResults must be between 0 and 1000');
  let start = 0;
  if (input.nextToken !== undefined) {
    const index = items.findIndex((item) => String(key(item)) === input.nextToken);
    if (index < 0) throw new AwsServiceError('InvalidToken', 'Invalid Token: nextToken');
    start = index + 1;
  }
  const slice = items.slice(start, start + size);
  const last = slice.at(-1);
  return { items: slice, nextToken: start + size < items.length && last !== undefined ? String(key(last)) : undefined };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The JSON protocol's timestamps: epoch seconds (a Date would reach JSON.stringify as ISO text). */
function epochSeconds(ms: number): number {
  return ms / 1000;
}
