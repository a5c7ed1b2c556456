/**
 * The local Step Functions through the real @aws-sdk/client-sfn: our ASL runs with AWS's
 * results, error names, task tokens and history. Functions are plain JS (fixtures below); the
 * dynamodb integration uses the run's DynamoDB Local; the event bus is a recording simulator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import aslValidator from 'asl-validator';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '../../../infra/local/aws-endpoint.ts';
import {
  createLocalStepFunctions,
  type LocalStepFunctions,
  validateDefinition,
} from '../../../infra/local/stepfunctions/service.ts';
import { eventually } from '../client.ts';
import * as asl from '../fixtures/asl/machines.ts';

const TABLE = `sfn-test-${process.pid}-${Date.now()}`;
const dataDir = mkdtempSync(join(tmpdir(), 'slipway-sfn-'));
const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
const machineArn = (name: string) => `arn:aws:states:${asl.REGION}:${asl.ACCOUNT}:stateMachine:${name}`;
const executionArnOf = (machine: string, name: string) =>
  `arn:aws:states:${asl.REGION}:${asl.ACCOUNT}:execution:${machine}:${name}`;

/** The functions the ASL fixtures call, as the local Lambda runtime would run them. */
const approvalRequests = new Map<string, string>(); // execution id → task token
const unreachableCalls = new Map<string, number>();
const functions: Record<string, (payload: Record<string, string>) => Promise<unknown>> = {
  greet: async ({ who }) => ({ greeting: `hello ${who}` }),
  unreachable: async ({ id = '' }) => {
    unreachableCalls.set(id, (unreachableCalls.get(id) ?? 0) + 1);
    throw Object.assign(new Error(`cluster of ${id} did not answer`), { name: 'ClusterUnreachable' });
  },
  'request-approval': async ({ id = '', token = '' }) => {
    approvalRequests.set(id, token);
    return { requested: true };
  },
};

/** A simulator of the EventBridge bus: records entries, refuses sources starting with `refused.`. */
const published: Record<string, unknown>[] = [];
async function putEventsSimulator(entries: Record<string, unknown>[]) {
  published.push(...entries);
  const results = entries.map((entry, i) =>
    String(entry.Source).startsWith('refused.')
      ? { ErrorCode: 'InternalFailure', ErrorMessage: 'refused by the simulator' }
      : { EventId: `event-${published.length}-${i}` },
  );
  return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
}

function startStepFunctions(): LocalStepFunctions {
  return createLocalStepFunctions({
    region: asl.REGION,
    accountId: asl.ACCOUNT,
    stateMachines: [
      { name: 'hello', definition: asl.hello },
      { name: 'retry-then-catch', definition: asl.retryThenCatch },
      { name: 'approval', definition: asl.approval },
      { name: 'approval-hurried', definition: asl.approval },
      { name: 'pause', definition: asl.pause },
      { name: 'dynamo-item', definition: asl.dynamoItem(TABLE) },
      { name: 'publish', definition: asl.publish },
      { name: 'unsupported', definition: asl.unsupported },
      { name: 'child', definition: asl.child },
      { name: 'parent-sync2', definition: asl.parent('arn:aws:states:::states:startExecution.sync:2') },
      { name: 'parent-sync', definition: asl.parent('arn:aws:states:::states:startExecution.sync') },
      { name: 'parent-hurried', definition: asl.parent('arn:aws:states:::states:startExecution.sync:2') },
      { name: 'parent-start', definition: asl.parent('arn:aws:states:::states:startExecution') },
      {
        name: 'parent-callback',
        definition: asl.parent('arn:aws:states:::states:startExecution.waitForTaskToken'),
      },
    ],
    invokeFunction: async (arn, payload) => {
      const run = functions[arn.split(':').at(-1) ?? ''];
      if (!run)
        throw Object.assign(new Error(`Function not found: ${arn}`), { name: 'Lambda.ResourceNotFoundException' });
      return run(payload as Record<string, string>);
    },
    dynamoEndpoint: inject('dynamoEndpoint'),
    putEvents: putEventsSimulator,
    dataDir,
    overrides: {
      'retry-then-catch': { retryIntervalOverrides: { Probe: 1 } },
      pause: { waitTimeOverrides: { Pause: 10 } },
    },
  });
}

let stepFunctions: LocalStepFunctions;
let endpoint: AwsEndpoint;
let sfn: SFNClient;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  dynamo = new DynamoDBClient({ endpoint: inject('dynamoEndpoint'), region: asl.REGION, credentials });
  await dynamo.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitUntilTableExists({ client: dynamo, minDelay: 1, maxWaitTime: 30 }, { TableName: TABLE });
  stepFunctions = startStepFunctions();
  endpoint = await startAwsEndpoint({ services: { AWSStepFunctions: stepFunctions.service } });
  sfn = new SFNClient({ endpoint: endpoint.url, region: asl.REGION, credentials });
});

afterAll(async () => {
  sfn?.destroy();
  await endpoint?.close();
  await stepFunctions?.stop();
  await dynamo?.send(new DeleteTableCommand({ TableName: TABLE })).catch(() => {});
  dynamo?.destroy();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(machine: string, input: unknown, name?: string): Promise<string> {
  const started = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: machineArn(machine), input: JSON.stringify(input), name }),
  );
  return started.executionArn as string;
}

/** Polls until the execution has ended. */
async function finished(executionArn: string): Promise<DescribeExecutionCommandOutput> {
  return eventually(async () => {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).not.toBe('RUNNING');
    return described;
  }, 5_000);
}

const outputOf = (described: DescribeExecutionCommandOutput) => JSON.parse(described.output ?? 'null');

async function history(executionArn: string): Promise<HistoryEvent[]> {
  return (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
}

/** The history of an execution of one Task that handed its work out (task token, `.sync` job), then succeeded. */
const ONE_SUBMITTED_TASK = [
  'ExecutionStarted',
  'TaskStateEntered',
  'TaskScheduled',
  'TaskStarted',
  'TaskSubmitted',
  'TaskSucceeded',
  'TaskStateExited',
  'ExecutionSucceeded',
];

/** The token request-approval received for this execution id. */
const tokenFor = (id: string) =>
  eventually(async () => {
    const token = approvalRequests.get(id);
    expect(token).toBeTruthy();
    return token as string;
  }, 5_000);

describe('running ASL', () => {
  it('runs a plain Lambda ARN and lambda:invoke, whose result is wrapped in Payload as on AWS', async () => {
    const executionArn = await start('hello', { who: 'alice' });
    const done = await finished(executionArn);

    expect(done.status).toBe('SUCCEEDED');
    expect(outputOf(done)).toEqual({
      who: 'alice',
      plain: { greeting: 'hello alice' },
      invoked: { greeting: 'hello alice' },
      raw: { ExecutedVersion: '$LATEST', Payload: { greeting: 'hello alice' }, StatusCode: 200 },
    });
    expect(done.startDate).toBeInstanceOf(Date);
    expect(stepFunctions.transitions(executionArn)).toBe(5);
  });

  it('fails the execution with a Fail state’s error and cause', async () => {
    const done = await finished(await start('hello', { who: 'mallory' }));

    expect(done).toMatchObject({ status: 'FAILED', error: 'Stranger', cause: 'only alice is greeted' });
  });

  it('retries a named Lambda error, then catches it with the error and the Lambda cause', async () => {
    const id = `probe-${Date.now()}`;
    const done = await finished(await start('retry-then-catch', { id }));

    expect(done.status).toBe('SUCCEEDED');
    expect(unreachableCalls.get(id)).toBe(3);
    const { error } = outputOf(done);
    expect(error.Error).toBe('ClusterUnreachable');
    expect(JSON.parse(error.Cause)).toEqual({
      errorType: 'ClusterUnreachable',
      errorMessage: `cluster of ${id} did not answer`,
    });
  });

  it('shortens a Wait state with waitTimeOverrides', async () => {
    const executionArn = await start('pause', {});
    const done = await finished(executionArn);

    expect(outputOf(done)).toEqual({ waited: true });
    const types = (await history(executionArn)).map((event) => event.type);
    expect(types).toEqual([
      'ExecutionStarted',
      'WaitStateEntered',
      'WaitStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('validates ASL on request, leaving the definition as it was', () => {
    const definition = structuredClone(asl.approval);

    expect(() => validateDefinition(definition)).not.toThrow();
    expect(definition).toEqual(asl.approval);
    expect(() => validateDefinition({ StartAt: 'Nowhere', States: { Here: { Type: 'Pass', End: true } } })).toThrow(
      /definition is invalid/,
    );
  });

  it('fails an execution whose Resource is not served locally, past any Catch, saying so', async () => {
    const done = await finished(await start('unsupported', {}));

    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.Runtime');
    expect(done.cause).toContain("'arn:aws:states:::sqs:sendMessage' is not supported by the local Step Functions");
  });
});

describe('waiting for a task token', () => {
  it('resumes with the SendTaskSuccess output; the used token then times out', async () => {
    const id = `approve-${Date.now()}`;
    const executionArn = await start('approval', { id, timeout_seconds: 3600 });
    const token = await tokenFor(id);
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');

    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approved_by: 'alice' }) }));
    const done = await finished(executionArn);

    expect(outputOf(done)).toEqual({ id, timeout_seconds: 3600, approval: { approved_by: 'alice' } });
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
      $metadata: { httpStatusCode: 400 },
    });
    const types = (await history(executionArn)).map((event) => event.type);
    expect(types).toEqual(ONE_SUBMITTED_TASK);
  });

  it('fails the task with the SendTaskFailure error, which a Catch handles by name', async () => {
    const id = `reject-${Date.now()}`;
    const executionArn = await start('approval', { id, timeout_seconds: 3600 });

    await sfn.send(
      new SendTaskFailureCommand({ taskToken: await tokenFor(id), error: 'Rejected', cause: 'not today' }),
    );
    const done = await finished(executionArn);

    expect(outputOf(done).error).toEqual({ Error: 'Rejected', Cause: 'not today' });
    const events = await history(executionArn);
    expect(events.find((event) => event.type === 'TaskFailed')?.taskFailedEventDetails).toMatchObject({
      error: 'Rejected',
      cause: 'not today',
      resourceType: 'lambda',
      resource: 'invoke.waitForTaskToken',
    });
    expect(events.at(-2)).toMatchObject({ type: 'PassStateExited', stateExitedEventDetails: { name: 'Rejected' } });
  });

  it('times out with States.Timeout (not matched by States.TaskFailed); the token is then refused', async () => {
    stepFunctions.setOverrides('approval-hurried', { taskTimeoutOverrides: { WaitForApproval: 0.2 } });
    const id = `expire-${Date.now()}`;
    const executionArn = await start('approval-hurried', { id, timeout_seconds: 3600 });
    const token = await tokenFor(id);

    const done = await finished(executionArn);

    expect(outputOf(done).error.Error).toBe('States.Timeout');
    const events = await history(executionArn);
    expect(events.map((event) => event.type)).toContain('TaskTimedOut');
    expect(events.at(-2)).toMatchObject({ type: 'PassStateExited', stateExitedEventDetails: { name: 'Expired' } });
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
  });

  it('keeps a task alive while heartbeats arrive, and fails it with States.HeartbeatTimeout once they stop', async () => {
    stepFunctions.setOverrides('approval-hurried', { heartbeatOverrides: { WaitForApproval: 0.3 } });
    const id = `heartbeat-${Date.now()}`;
    const executionArn = await start('approval-hurried', { id, timeout_seconds: 3600 });
    const token = await tokenFor(id);

    // Heartbeats every 100 ms for twice the heartbeat interval: the task must still be waiting.
    const aliveUntil = Date.now() + 600;
    while (Date.now() < aliveUntil) {
      await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');

    const done = await finished(executionArn);
    expect(outputOf(done).error.Error).toBe('States.HeartbeatTimeout');
    await expect(sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
  });

  it('refuses an unknown token with TaskTimedOut', async () => {
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: 'made-up', output: '{}' }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('StopExecution aborts the execution and retires its token', async () => {
    const id = `stop-${Date.now()}`;
    const executionArn = await start('approval', { id, timeout_seconds: 3600 });
    const token = await tokenFor(id);

    const stopped = await sfn.send(
      new StopExecutionCommand({ executionArn, error: 'Cancelled', cause: 'by the test' }),
    );

    expect(stopped.stopDate).toBeInstanceOf(Date);
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({
      status: 'ABORTED',
      error: 'Cancelled',
      cause: 'by the test',
    });
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
    expect((await history(executionArn)).at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Cancelled', cause: 'by the test' },
    });
  });
});

describe('service integrations', () => {
  it('puts, reads, updates and deletes an item in DynamoDB, a conditional failure caught by its AWS name', async () => {
    const id = `item-${Date.now()}`;
    const done = await finished(await start('dynamo-item', { id }));

    expect(done.status).toBe('SUCCEEDED');
    const output = outputOf(done);
    expect(output.read).toEqual({ status: 'new' });
    expect(output.conflict.Error).toBe('DynamoDB.ConditionalCheckFailedException');
    expect(output.updated).toEqual({ status: 'done' });
    expect(output.deleted).toEqual({ status: 'done' });
    const item = await dynamo.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: id } } }));
    expect(item.Item).toBeUndefined();
  });

  it('publishes events with JSON detail and the execution in Resources; a failed entry fails the task', async () => {
    const executionArn = await start('publish', { id: 'e-1', source: 'slipway.test' });
    const done = await finished(executionArn);

    expect(done.status).toBe('SUCCEEDED');
    expect(outputOf(done)).toMatchObject({ FailedEntryCount: 0, Entries: [{ EventId: expect.any(String) }] });
    expect(published.at(-1)).toEqual({
      EventBusName: 'slipway',
      Source: 'slipway.test',
      DetailType: 'Thing happened',
      Detail: JSON.stringify({ id: 'e-1' }),
      Resources: [executionArn, machineArn('publish')],
    });

    const refused = await finished(await start('publish', { id: 'e-2', source: 'refused.test' }));
    expect(refused).toMatchObject({ status: 'FAILED', error: 'EventBridge.FailedEntry' });
  });
});

describe('nested executions (states:startExecution)', () => {
  /** Starts a parent whose child is named `<prefix>-child-<time>`; returns both ARNs. */
  async function startParent(machine: string, outcome: string, prefix: string) {
    const name = `${prefix}-${Date.now()}`;
    const childName = `${name}-child`;
    const parentArn = await start(machine, { name: childName, outcome, value: { n: 1 } }, name);
    return { parentArn, childArn: executionArnOf('child', childName), childName };
  }

  const described = (executionArn: string) => sfn.send(new DescribeExecutionCommand({ executionArn }));
  const runningChild = (executionArn: string) =>
    eventually(async () => {
      expect((await described(executionArn)).status).toBe('RUNNING');
    }, 5_000);

  it('are valid States Language for asl-validator and for the local interpreter', () => {
    for (const resource of ['', '.sync', '.sync:2', '.waitForTaskToken'].map((suffix) => `startExecution${suffix}`)) {
      const definition = asl.parent(`arn:aws:states:::states:${resource}`);
      expect(aslValidator(definition).errors, resource).toEqual([]);
      expect(() => validateDefinition(definition)).not.toThrow();
    }
    expect(aslValidator(asl.child).errors).toEqual([]);
  });

  it('.sync:2 waits for the child and returns its description with the output parsed, linked to the parent', async () => {
    const { parentArn, childArn, childName } = await startParent('parent-sync2', 'answer', 'sync2');
    const done = await finished(parentArn);

    expect(done.status).toBe('SUCCEEDED');
    const { child } = outputOf(done);
    expect(child).toEqual({
      ExecutionArn: childArn,
      Input: { outcome: 'answer', value: { n: 1 }, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parentArn },
      InputDetails: { Included: true },
      Name: childName,
      Output: { echo: { n: 1 }, startedBy: parentArn },
      OutputDetails: { Included: true },
      StartDate: expect.any(Number),
      StateMachineArn: machineArn('child'),
      Status: 'SUCCEEDED',
      StopDate: expect.any(Number),
    });
    // Epoch milliseconds, as the integration gives them (the API's own dates are seconds).
    expect(child.StartDate).toBe((await described(childArn)).startDate?.getTime());
    const events = await history(parentArn);
    expect(events.map((event) => event.type)).toEqual(ONE_SUBMITTED_TASK);
    const submitted = events.find((event) => event.type === 'TaskSubmitted')?.taskSubmittedEventDetails;
    expect(submitted).toMatchObject({ resourceType: 'states', resource: 'startExecution.sync:2' });
    expect(JSON.parse(submitted?.output ?? '')).toEqual({ ExecutionArn: childArn, StartDate: child.StartDate });
  });

  it('.sync returns the child’s input and output as JSON text', async () => {
    const { parentArn } = await startParent('parent-sync', 'answer', 'sync');
    const { child } = outputOf(await finished(parentArn));

    expect(child.Status).toBe('SUCCEEDED');
    expect(JSON.parse(child.Output)).toEqual({ echo: { n: 1 }, startedBy: parentArn });
    expect(typeof child.Input).toBe('string');
  });

  it('a failed child fails the task with States.TaskFailed and its description as the Cause', async () => {
    const { parentArn, childArn } = await startParent('parent-sync2', 'fail', 'broken');
    const done = await finished(parentArn);

    expect(done.status).toBe('SUCCEEDED');
    const { error } = outputOf(done);
    expect(error.Error).toBe('States.TaskFailed');
    expect(JSON.parse(error.Cause)).toMatchObject({
      Cause: 'the child was told to fail',
      Error: 'ChildBroke',
      ExecutionArn: childArn,
      Input: expect.any(String),
      Status: 'FAILED',
    });
    expect((await history(parentArn)).at(-2)).toMatchObject({
      type: 'PassStateExited',
      stateExitedEventDetails: { name: 'ChildFailed' },
    });
  });

  it('stopping the parent stops the child it waits for', async () => {
    const { parentArn, childArn } = await startParent('parent-sync2', 'linger', 'stop');
    await runningChild(childArn);

    await sfn.send(new StopExecutionCommand({ executionArn: parentArn }));

    expect((await finished(childArn)).status).toBe('ABORTED');
  });

  it('a parent task that times out stops its child; States.Timeout is not a States.TaskFailed', async () => {
    stepFunctions.setOverrides('parent-hurried', { taskTimeoutOverrides: { RunChild: 0.3 } });
    const { parentArn, childArn } = await startParent('parent-hurried', 'linger', 'hurried');

    expect(await finished(parentArn)).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect((await finished(childArn)).status).toBe('ABORTED');
  });

  it('without .sync returns at once with the child’s ARN, the child still running', async () => {
    const { parentArn, childArn } = await startParent('parent-start', 'linger', 'forget');
    const done = await finished(parentArn);

    expect(outputOf(done).child).toEqual({ ExecutionArn: childArn, StartDate: expect.any(Number) });
    expect((await described(childArn)).status).toBe('RUNNING');
    await sfn.send(new StopExecutionCommand({ executionArn: childArn }));
  });

  it('.waitForTaskToken hands the child the token; the answer to it ends the task', async () => {
    const { parentArn, childArn } = await startParent('parent-callback', 'linger', 'callback');
    await runningChild(childArn);
    const { token } = JSON.parse((await described(childArn)).input ?? '{}');

    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ answered: true }) }));
    const done = await finished(parentArn);

    expect(outputOf(done).child).toEqual({ answered: true });
    expect((await history(parentArn)).find((event) => event.type === 'TaskSubmitted')).toMatchObject({
      taskSubmittedEventDetails: { resourceType: 'states', resource: 'startExecution.waitForTaskToken' },
    });
    await sfn.send(new StopExecutionCommand({ executionArn: childArn }));
  });

  it('a start by the name and input of a running child waits for that same child; a stopped child fails the task', async () => {
    const parentName = `attach-${Date.now()}`;
    const parentArn = executionArnOf('parent-sync2', parentName);
    const childName = `${parentName}-child`;
    const childInput = { outcome: 'linger', value: 7, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parentArn };
    const childArn = await start('child', childInput, childName);

    await start('parent-sync2', { name: childName, outcome: 'linger', value: 7 }, parentName);
    await eventually(async () => {
      expect((await history(parentArn)).map((event) => event.type)).toContain('TaskSubmitted');
    }, 5_000);
    expect((await described(parentArn)).status).toBe('RUNNING');
    await sfn.send(new StopExecutionCommand({ executionArn: childArn, error: 'Cancelled', cause: 'by the test' }));
    const done = await finished(parentArn);

    const { error } = outputOf(done);
    expect(error.Error).toBe('States.TaskFailed');
    expect(JSON.parse(error.Cause)).toMatchObject({ ExecutionArn: childArn, Status: 'ABORTED', Error: 'Cancelled' });
  });

  it('a refused start fails the task with the StepFunctions error name', async () => {
    const { parentArn, childName } = await startParent('parent-sync2', 'answer', 'reuse');
    await finished(parentArn);

    const again = await finished(await start('parent-sync2', { name: childName, outcome: 'answer', value: 1 }));

    const { error } = outputOf(again);
    expect(error.Error).toBe('StepFunctions.ExecutionAlreadyExistsException');
    expect(error.Cause).toMatch(/^Execution Already Exists: .* \(Service: AWSStepFunctions; Status Code: 400; /);
  });
});

describe('the API around executions', () => {
  it('starts idempotently by name and input while running, and refuses a name reused otherwise', async () => {
    const name = `named-${Date.now()}`;
    const input = { id: name, timeout_seconds: 3600 };
    const first = await start('approval', input, name);

    expect(await start('approval', input, name)).toBe(first);
    await expect(start('approval', { ...input, other: 1 }, name)).rejects.toMatchObject({
      name: 'ExecutionAlreadyExists',
    });
    await sfn.send(new StopExecutionCommand({ executionArn: first }));
    await expect(start('approval', input, name)).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it('refuses input that is not JSON, unknown machines and unknown executions with AWS error names', async () => {
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn('hello'), input: '{nope' })),
    ).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
    await expect(start('missing', {})).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
    await expect(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: `${machineArn('hello')}:missing`.replace('stateMachine', 'execution'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
  });

  it('describes and lists the state machines', async () => {
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: machineArn('pause') }));
    expect(JSON.parse(described.definition ?? '')).toEqual(asl.pause);
    expect(described).toMatchObject({ name: 'pause', type: 'STANDARD', status: 'ACTIVE' });

    const listed = await sfn.send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines?.map((m) => m.name)).toContain('dynamo-item');
  });

  it('pages the history forwards and backwards, with ids chaining to their previous event', async () => {
    const executionArn = await start('hello', { who: 'alice' });
    await finished(executionArn);
    const all = await history(executionArn);

    const first = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 4 }));
    const rest = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken: first.nextToken }),
    );
    const reversed = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 2 }),
    );

    expect([...(first.events ?? []), ...(rest.events ?? [])]).toEqual(all);
    expect(rest.nextToken).toBeUndefined();
    expect(reversed.events?.map((event) => event.type)).toEqual(['ExecutionSucceeded', 'SucceedStateExited']);
    expect(all.map((event) => [event.id, event.previousEventId])).toEqual(all.map((_, i) => [i + 1, i]));
    expect(all.map((event) => event.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(all[0]?.timestamp).toBeInstanceOf(Date);
  });

  it('lists executions newest first, filtered by status and paged', async () => {
    const older = await start('pause', {});
    const newer = await start('pause', {});
    await finished(older);
    await finished(newer);

    const page = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: machineArn('pause'), statusFilter: 'SUCCEEDED', maxResults: 1 }),
    );
    const next = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: machineArn('pause'),
        statusFilter: 'SUCCEEDED',
        nextToken: page.nextToken,
      }),
    );
    const running = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: machineArn('pause'), statusFilter: 'RUNNING' }),
    );

    expect(page.executions?.map((e) => e.executionArn)).toEqual([newer]);
    expect(next.executions?.[0]?.executionArn).toBe(older);
    expect(running.executions).toEqual([]);
  });

  it('keeps records across a restart on the same data folder; executions left running are aborted', async () => {
    const succeeded = await start('hello', { who: 'alice' });
    await finished(succeeded);
    const id = `restart-${Date.now()}`;
    const waiting = await start('approval', { id, timeout_seconds: 3600 });
    await tokenFor(id);

    const restarted = startStepFunctions();
    const endpoint2 = await startAwsEndpoint({ services: { AWSStepFunctions: restarted.service } });
    const sfn2 = new SFNClient({ endpoint: endpoint2.url, region: asl.REGION, credentials });
    try {
      const before = await sfn.send(new DescribeExecutionCommand({ executionArn: succeeded }));
      expect(await sfn2.send(new DescribeExecutionCommand({ executionArn: succeeded }))).toMatchObject({
        status: 'SUCCEEDED',
        output: before.output,
      });
      const oldHistory = await sfn2.send(new GetExecutionHistoryCommand({ executionArn: succeeded, maxResults: 1000 }));
      expect(oldHistory.events).toEqual(await history(succeeded));
      expect(await sfn2.send(new DescribeExecutionCommand({ executionArn: waiting }))).toMatchObject({
        status: 'ABORTED',
        cause: 'The local cloud restarted',
      });
      const listed = await sfn2.send(new ListExecutionsCommand({ stateMachineArn: machineArn('approval') }));
      expect(listed.executions?.map((e) => e.executionArn)).toContain(waiting);
      expect(restarted.transitions(succeeded)).toBe(5);
    } finally {
      sfn2.destroy();
      await endpoint2.close();
      await restarted.stop();
      await sfn.send(new StopExecutionCommand({ executionArn: waiting }));
    }
  });
});
