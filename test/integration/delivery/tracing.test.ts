/**
 * One trace from the API call through the workflow's steps (ADR 28): the local gateway continues
 * the caller's X-Amzn-Trace-Id (or starts one and logs it), the deployments function hands it to
 * StartExecution, the local Step Functions hands it to every task, and each function reads it
 * where Powertools does. Seen by an SDK middleware on the functions' own DynamoDB client: every
 * request a function sends, and the trace id it was sent under.
 */
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REPO_ROOT } from '../../../infra/local/cloud.ts';
import { loadSigningKey } from '../../../infra/local/dev-issuer.ts';
import { startGateway } from '../../../infra/local/gateway.ts';
import { currentInvocation, localFunctionName } from '../../../infra/local/lambda-runtime.ts';
import { traceRoot } from '../../../infra/local/trace-header.ts';
import { functions } from '../../../infra/manifest.ts';
import { logger } from '../../../shared/logger.ts';
import { documentClient } from '../../../shared/store/dynamo.ts';
import { WORKFLOW_START_FAILED } from '../../../shared/telemetry/log-signals.ts';
import { traceId } from '../../../shared/telemetry/trace-context.ts';
import { fixtureFunctions, fixtureRoutes } from '../fixtures/functions.ts';
import { deploy, type Scene, startScene, statusWhen } from './scene.ts';

const sent: { fn: string; trace: string | undefined }[] = [];
documentClient.middlewareStack.add(
  (next) => async (args) => {
    const fn = currentInvocation()?.functionName;
    if (fn) sent.push({ fn, trace: traceId() });
    return next(args);
  },
  { step: 'initialize', name: 'recordTraces' },
);

const workflowSteps = new Set(functions.filter((f) => f.trigger === 'workflow').map(localFunctionName));
const TRACE_ID = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;

let scene: Scene;
beforeAll(async () => {
  scene = await startScene();
});
afterAll(() => scene?.cloud.stop());

const withTrace = (root: string) => ({ 'x-amzn-trace-id': `Root=${root};Parent=53995c3f42cd8ad8;Sampled=1` });

async function describeExecution(deploymentId: string) {
  const sfn = new SFNClient({
    endpoint: scene.cloud.services.endpoint.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const machine = scene.cloud.services.stateMachineArn('deploy');
  const executionArn = `${machine.replace(':stateMachine:', ':execution:')}:${deploymentId}`;
  return sfn.send(new DescribeExecutionCommand({ executionArn }));
}

describe('a deploy request', () => {
  it("runs in the caller's trace from the API call through every workflow step, and shows it in its status", async () => {
    const root = '1-6750a1b2-0123456789abcdef01234567';
    sent.length = 0;
    const reply = await scene.developer.post(
      `/api/v1/apps/${scene.app.id}/deploy`,
      { env: 'dev', image: '2.0.0' },
      withTrace(root),
    );
    expect(reply.status).toBe(202);
    expect(reply.body.trace_id).toBe(root);
    const status = await statusWhen(scene.developer, reply.body.id);
    expect(status).toMatchObject({ state: 'succeeded', trace_id: root });

    const execution = await describeExecution(reply.body.id);
    expect(execution.traceHeader).toMatch(new RegExp(`^Root=${root};Parent=[0-9a-f]{16};Sampled=1$`));

    // The lock, the deployer and the outcome recorder all ran, and only in this trace.
    const steps = sent.filter((call) => workflowSteps.has(call.fn));
    expect(new Set(steps.map((call) => call.fn))).toEqual(
      new Set(['slipway-lock', 'slipway-deployer', 'slipway-record-outcome']),
    );
    expect(new Set(steps.map((call) => call.trace))).toEqual(new Set([root]));
    expect(sent.some((call) => call.fn === 'slipway-deployments' && call.trace === root)).toBe(true);
  });

  it('starts a trace of its own when the caller sends none, keeping concurrent requests apart', async () => {
    const roots = ['1-6750a1b2-aaaaaaaaaaaaaaaaaaaaaaaa', '1-6750a1b2-bbbbbbbbbbbbbbbbbbbbbbbb'];
    const [untraced, ...traced] = await Promise.all([
      deploy(scene.developer, scene.app.id, { env: 'dev', image: '2.1.0' }),
      ...roots.map((root, i) =>
        scene.developer.post(`/api/v1/apps/${scene.app.id}/deploy`, { env: 'dev', image: `2.2.${i}` }, withTrace(root)),
      ),
    ]);
    expect(untraced?.body.trace_id).toMatch(TRACE_ID);
    expect(roots).not.toContain(untraced?.body.trace_id);
    expect(traced.map((r) => r.body.trace_id)).toEqual(roots);
    for (const reply of [untraced, ...traced]) {
      const status = await statusWhen(scene.developer, reply?.body.id, undefined, 30_000);
      expect(status.trace_id).toBe(reply?.body.trace_id);
      expect((await describeExecution(reply?.body.id)).traceHeader).toContain(`Root=${reply?.body.trace_id};`);
    }
  });
});

describe('a workflow that cannot start', () => {
  it('is logged in the line the start-failure alarm counts (its metric filter matches the message)', async () => {
    const errors = vi.spyOn(logger, 'error').mockImplementation(() => {});
    const machine = process.env.DEPLOY_STATE_MACHINE_ARN;
    process.env.DEPLOY_STATE_MACHINE_ARN = `${machine}-missing`;
    let logged: unknown[][];
    try {
      const refused = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '9.0.0' });
      expect(refused.status).toBe(503);
    } finally {
      process.env.DEPLOY_STATE_MACHINE_ARN = machine;
      logged = [...errors.mock.calls];
      errors.mockRestore();
    }
    expect(logged).toContainEqual([
      WORKFLOW_START_FAILED,
      expect.objectContaining({
        machine: 'deploy',
        error: expect.objectContaining({ name: 'StateMachineDoesNotExist' }),
      }),
    ]);
  });
});

describe('the local gateway', () => {
  it("prints each request's trace id in its access log line and hands the function that trace", async () => {
    const gateway = await startGateway({
      routes: fixtureRoutes,
      functions: fixtureFunctions,
      rootDir: REPO_ROOT,
      port: 0,
      signingKey: await loadSigningKey(),
    });
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const root = '1-6750a1b2-cccccccccccccccccccccccc';
      const traced = await fetch(`${gateway.url}/fixtures/public/echo`, { headers: withTrace(root) });
      const untraced = await fetch(`${gateway.url}/fixtures/public/echo`);
      type Echo = { event: { headers: Record<string, string> } };
      const seen = await Promise.all(
        [traced, untraced].map(async (r) =>
          traceRoot(((await r.json()) as Echo).event.headers['x-amzn-trace-id'] ?? ''),
        ),
      );
      expect(seen[0]).toBe(root);
      expect(seen[1]).toMatch(TRACE_ID);
      const logged = lines.map((line) => JSON.parse(line)).filter((line) => line.message === 'request');
      expect(logged.map((line) => line.traceId)).toEqual(seen);
    } finally {
      spy.mockRestore();
      await gateway.close();
    }
  });
});
