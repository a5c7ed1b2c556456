import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../infra/local/ports.ts';
import { eventually } from '../client.ts';
import { bodies, create, unique } from '../seed.ts';
import { deploy, type Scene, slackChannelAt, startScene, statusWhen } from './scene.ts';

/**
 * The paths that are the product: a cluster that does not answer, a chat endpoint that is down,
 * a stopped execution holding the lock, a duplicate event. Nothing is lost and no lock stays held.
 */
let scene: Scene;
let chat: Server;
const chatMessages: string[] = [];
let chatDown = true;
/** Nothing listens there; the local cloud allows it as a cluster address, as it allows its simulator's. */
let deadClusterPort: number;

beforeAll(async () => {
  chat = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      chatMessages.push(body);
      res.writeHead(chatDown ? 503 : 200).end(chatDown ? 'down' : 'ok');
    });
  });
  await new Promise<void>((r) => chat.listen(0, '127.0.0.1', r));
  deadClusterPort = await freePort();
  scene = await startScene({
    clusterLoopback: [`127.0.0.1:${deadClusterPort}`],
    chat: slackChannelAt(`http://127.0.0.1:${(chat.address() as AddressInfo).port}`),
  });
});
afterAll(async () => {
  await scene?.cloud.stop();
  chat?.close();
});

describe('faults', () => {
  it('a cluster that does not answer fails the deployment with a clear reason and frees the lock', async () => {
    const dead = await create(scene.admin, '/api/v1/clusters', {
      name: unique('gone'),
      region: 'us-east-1',
      api_server_url: `https://127.0.0.1:${deadClusterPort}`,
      ca_data: scene.cloud.services.kubernetes.caData,
      auth: { mode: 'token', token_secret_arn: scene.cloud.services.kubernetes.tokenSecretArn },
    });
    await create(scene.admin, `/api/v1/apps/${scene.app.id}/envs`, {
      name: 'edge',
      cluster_id: dead.id,
      namespace: 'edge',
    });
    const first = await deploy(scene.developer, scene.app.id, { env: 'edge', image: '1.0.0' });
    const status = await statusWhen(scene.developer, first.body.id);
    expect(status.state).toBe('failed');
    expect(status.reason).toMatch(/ClusterUnreachable/);
    expect(status.reason).toMatch(
      /^ClusterUnreachable: cluster gone-.* \(https:\/\/127\.0\.0\.1:\d+\): connection refused$/,
    );
    // The lock was released: the next deployment is not stuck behind the failed one.
    const second = await deploy(scene.developer, scene.app.id, { env: 'edge', image: '1.0.1' });
    const next = await statusWhen(scene.developer, second.body.id);
    expect(next.steps.map((s: { state: string }) => s.state)).not.toContain('waiting_for_lock');
  });

  it('a chat endpoint that is down gets retries, then a dead letter, and the deployment is unaffected', async () => {
    chatMessages.length = 0;
    const reply = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '5.0.0' });
    expect((await statusWhen(scene.developer, reply.body.id)).state).toBe('succeeded');
    const deadLetters = await eventually(async () => {
      const letters = (await (
        await fetch(`${scene.cloud.services.endpoint.url}/_local/eventbridge/dead-letters`)
      ).json()) as {
        rule: string;
        event: { 'detail-type': string; detail: { subject: string } };
        attempts: number;
      }[];
      const ours = letters.filter(
        (l) => l.rule === 'notify' && l.event.detail.subject === `deployment/${reply.body.id}`,
      );
      expect(ours.map((l) => l.event['detail-type'])).toContain('Deployment Succeeded');
      return ours;
    }, 20_000);
    expect(deadLetters[0]?.attempts).toBeGreaterThan(1);
    expect(chatMessages.length).toBeGreaterThan(deadLetters.length);

    // Back up: the next event reaches the channel.
    chatDown = false;
    const ok = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '5.0.1' });
    await statusWhen(scene.developer, ok.body.id);
    await eventually(() => {
      const message = chatMessages.find((m) => m.includes('5.0.1') && m.includes('Deployed'));
      // A button to the deployment's status on this cloud's API.
      expect(message).toContain(`${scene.cloud.url}/api/v1/deployments/${ok.body.id}/status`);
      return Promise.resolve();
    }, 10_000);
  });

  it('a stopped execution ends its deployment as failed and frees the lock at once, not after the lease', async () => {
    const hung = await deploy(scene.developer, scene.app.id, {
      env: 'dev',
      image: 'hang',
      progress_deadline_seconds: 3600,
    });
    await statusWhen(scene.developer, hung.body.id, (s) => s.state === 'rolling_out');
    await stopExecution(hung.body.id, 'simulated crash');

    const ended = await statusWhen(scene.developer, hung.body.id);
    expect(ended).toMatchObject({ state: 'failed', reason: expect.stringMatching(/workflow ended ABORTED/) });
    const next = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '6.0.0' });
    // The lease is 15 minutes here: only the workflow-ended rule can have freed the lock this soon.
    expect((await statusWhen(scene.developer, next.body.id)).state).toBe('succeeded');
  });

  it('cancelling a rollout stops its workflow and frees the environment; nothing is rolled back for it', async () => {
    const hung = await deploy(scene.developer, scene.app.id, {
      env: 'dev',
      image: 'hang',
      progress_deadline_seconds: 3600,
    });
    await statusWhen(scene.developer, hung.body.id, (s) => s.state === 'rolling_out');
    const cancelled = await scene.developer.post(`/api/v1/deployments/${hung.body.id}/cancel`, { reason: 'stuck' });
    expect(cancelled.body).toMatchObject({ state: 'cancelled', reason: 'cancelled by dev-alice: stuck' });
    await eventually(async () => {
      const execution = await sfn().send(new DescribeExecutionCommand({ executionArn: executionOf(hung.body.id) }));
      expect(execution.status).toBe('ABORTED');
    });
    const next = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '6.2.0' });
    expect((await statusWhen(scene.developer, next.body.id)).state).toBe('succeeded');
    const final = (await scene.developer.get(`/api/v1/deployments/${hung.body.id}/status`)).body;
    expect(final.steps.map((s: { state: string }) => s.state)).toEqual([
      'queued',
      'applying',
      'rolling_out',
      'cancelled',
    ]);
  });

  it('a stopped execution waiting for approval expires the approval and frees the environment', async () => {
    const waiting = await deploy(scene.developer, scene.app.id, { env: 'prod', image: '6.1.0' });
    const status = await statusWhen(scene.developer, waiting.body.id, (s) => s.state === 'waiting_for_approval');
    await stopExecution(waiting.body.id, 'operator stopped it');

    expect((await statusWhen(scene.developer, waiting.body.id)).state).toBe('expired');
    const approval = await scene.approvers[0].get(`/api/v1/approvals/${status.approval.id}`);
    expect(approval.body.state).toBe('expired');
    const next = await deploy(scene.developer, scene.app.id, { env: 'prod', image: '6.1.1' });
    await statusWhen(scene.developer, next.body.id, (s) => s.state === 'waiting_for_approval');
    await stopExecution(next.body.id, 'cleanup');
  });

  it('every change is audited once, chained, and the chain verifies', async () => {
    const reply = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '7.0.0' });
    await statusWhen(scene.developer, reply.body.id);
    const subject = `deployment/${reply.body.id}`;
    const entries = await eventually(async () => {
      const list = await scene.admin.get(`/api/v1/audit?subject=${encodeURIComponent(subject)}`);
      expect(list.status).toBe(200);
      // Every change of a happy deploy, each once (the bus may deliver them in any order).
      expect(list.body.items.map((e: { type: string }) => e.type).sort()).toEqual([
        'Deployment Queued',
        'Deployment Started',
        'Deployment Succeeded',
      ]);
      return list.body.items;
    }, 15_000);
    expect(new Set(entries.map((e: { event_id: string }) => e.event_id)).size).toBe(entries.length);
    expect(entries.every((e: { actor: string }) => e.actor === 'dev-alice')).toBe(true);
    const verify = await scene.admin.get(`/api/v1/audit/verify?subject=${encodeURIComponent(subject)}`);
    expect(verify.body).toMatchObject({ valid: true, entries: entries.length });

    // Foundation changes are audited the same way.
    const project = await create(scene.admin, '/api/v1/projects', bodies.project());
    await eventually(async () => {
      const list = await scene.admin.get(`/api/v1/audit?subject=project/${project.id}`);
      expect(list.body.items.map((e: { type: string }) => e.type)).toEqual(['Project Created']);
    }, 15_000);
  });

  it('a duplicate event on the bus makes one audit entry', async () => {
    const subject = `deployment/dep_${'0'.repeat(26)}`;
    const detail = {
      id: '01M8DUPL1CATEEVENT00000000',
      time: new Date().toISOString(),
      actor: 'root',
      subject,
      data: {},
    };
    const bus = new EventBridgeClient({ endpoint: scene.cloud.services.endpoint.url, region: 'us-east-1' });
    const entry = {
      EventBusName: 'slipway',
      Source: 'slipway.deployments',
      DetailType: 'Deployment Queued',
      Detail: JSON.stringify(detail),
    };
    // Delivered twice, as at-least-once delivery may: two PutEvents of the very same change event.
    await bus.send(new PutEventsCommand({ Entries: [entry] }));
    await bus.send(new PutEventsCommand({ Entries: [entry] }));
    await scene.cloud.services.bus.drained();
    const list = await scene.admin.get(`/api/v1/audit?subject=${encodeURIComponent(subject)}`);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ event_id: detail.id, type: 'Deployment Queued', seq: 1 });
  });

  it('a workflow that cannot be started answers 503, records the deployment as failed and holds no lock', async () => {
    const machine = process.env.DEPLOY_STATE_MACHINE_ARN;
    process.env.DEPLOY_STATE_MACHINE_ARN = `${machine}-missing`;
    let refused: Awaited<ReturnType<typeof deploy>>;
    try {
      refused = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '8.0.0' });
    } finally {
      process.env.DEPLOY_STATE_MACHINE_ARN = machine;
    }
    expect(refused.status).toBe(503);
    expect(refused.body.type).toMatch(/workflow-unavailable$/);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    const [recorded] = (await scene.developer.get(`/api/v1/deployments?app_id=${scene.app.id}&env=dev&limit=1`)).body
      .items;
    expect(recorded).toMatchObject({ image: expect.stringMatching(/:8\.0\.0$/), state: 'failed' });

    const next = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '8.0.1' });
    const status = await statusWhen(scene.developer, next.body.id);
    expect(status.state).toBe('succeeded');
    expect(status.steps.map((s: { state: string }) => s.state)).not.toContain('waiting_for_lock');
  });
});

async function stopExecution(deploymentId: string, cause: string) {
  await sfn().send(new StopExecutionCommand({ executionArn: executionOf(deploymentId), cause }));
}

const sfn = () => new SFNClient({ endpoint: scene.cloud.services.endpoint.url, region: 'us-east-1' });

/** Executions are named after their deployment (shared/delivery/workflow.ts). */
const executionOf = (deploymentId: string) =>
  `${scene.cloud.services.stateMachineArn('deploy').replace(':stateMachine:', ':execution:')}:${deploymentId}`;
