import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricSeries } from '../../../infra/local/metrics.ts';
import { METRICS, type MetricName } from '../../../shared/telemetry/metrics.ts';
import { client, eventually } from '../client.ts';
import { deploy, quickDelivery, type Scene, startScene, statusWhen } from '../delivery/scene.ts';

/** Real deployments through the local cloud: the EMF lines the functions print, as CloudWatch Logs would read them. */
let scene: Scene;
beforeAll(async () => {
  scene = await startScene({
    workflowOverrides: { ...quickDelivery.workflowOverrides, pipeline: { waitTimeOverrides: { WaitForTurn: 50 } } },
  });
});
afterAll(() => scene?.cloud.stop());

interface Directive {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit?: string }[];
}
type Document = Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: Directive[] } };

const local = (path: string) =>
  fetch(`${scene.cloud.services.endpoint.url}${path}`).then((r) => r.json() as Promise<unknown>);

/**
 * The EMF specification's rules for one document: `_aws` with a millisecond Timestamp and
 * directives; every dimension a string member of the root, at most 30 per set; every metric a
 * number (or array of numbers) on the root; and ours: namespace Slipway, the table's unit and
 * exactly the table's dimensions, the function as `service`.
 */
function checkEmf(document: Document): void {
  expect(Object.keys(document._aws).sort()).toEqual(['CloudWatchMetrics', 'Timestamp']);
  expect(Number.isInteger(document._aws.Timestamp)).toBe(true);
  expect(Math.abs(Date.now() - document._aws.Timestamp)).toBeLessThan(5 * 60_000);
  expect(document.service).toMatch(/^slipway-[a-z-]+$/);
  expect(document._aws.CloudWatchMetrics.length).toBeGreaterThan(0);
  for (const directive of document._aws.CloudWatchMetrics) {
    expect(Object.keys(directive).sort()).toEqual(['Dimensions', 'Metrics', 'Namespace']);
    expect(directive.Namespace).toBe('Slipway');
    expect(directive.Dimensions).toHaveLength(1);
    for (const set of directive.Dimensions) {
      expect(set.length).toBeLessThanOrEqual(30);
      for (const key of set) expect(document[key]).toBeTypeOf('string');
    }
    for (const metric of directive.Metrics) {
      const spec = METRICS[metric.Name as MetricName];
      expect(spec, `${metric.Name} is in the table`).toBeDefined();
      expect(metric.Unit).toBe(spec.unit);
      expect(directive.Dimensions[0]).toEqual(spec.dimensions);
      const values = ([] as unknown[]).concat(document[metric.Name]);
      for (const value of values) expect(value).toBeTypeOf('number');
    }
  }
}

/** The documents holding `name` for this deployment (deployment_id) or environment (env), checked as EMF. */
async function documentsOf(name: MetricName, about: Record<string, string>): Promise<Document[]> {
  return eventually(async () => {
    const all = (await local('/_local/metrics/emf')) as Document[];
    for (const document of all) checkEmf(document);
    const found = all.filter(
      (d) =>
        d._aws.CloudWatchMetrics.some((c) => c.Metrics.some((m) => m.Name === name)) &&
        Object.entries(about).every(([key, value]) => d[key] === value),
    );
    if (found.length === 0) throw new Error(`no ${name} for ${JSON.stringify(about)} yet`);
    return found;
  });
}

describe('metrics of real deployments, builds and runs, as EMF lines', () => {
  it('counts an approved deploy from queue to success, with its times split into queue, approval and apply', async () => {
    const reply = await deploy(scene.developer, scene.app.id, { env: 'prod', image: '2.0.0' });
    expect(reply.status).toBe(202);
    const id = reply.body.id as string;
    const waiting = await statusWhen(scene.developer, id, (s) => s.state === 'waiting_for_approval');
    const approval = waiting.approval as { id: string };
    expect((await scene.approvers[0].post(`/api/v1/approvals/${approval.id}/approve`, {})).status).toBe(200);
    const done = await statusWhen(scene.developer, id);
    expect(done.state).toBe('succeeded');

    const about = { deployment_id: id };
    const [started] = await documentsOf('DeploymentsStarted', about);
    expect(started).toMatchObject({
      service: 'slipway-deployments',
      Kind: 'deploy',
      Tier: 'production',
      DeploymentsStarted: 1,
    });

    const [finished] = await documentsOf('DeploymentsFinished', about);
    expect(finished).toMatchObject({
      service: 'slipway-record-outcome',
      Outcome: 'succeeded',
      Tier: 'production',
      DeploymentsFinished: 1,
    });

    const steps = done.steps as { state: string; at: string }[];
    const at = (state: string) => Date.parse(steps.find((s) => s.state === state)?.at ?? '');
    const [times] = await documentsOf('DeployDuration', about);
    expect(times?.DeployDuration).toBe(at('succeeded') - at('queued'));
    expect(times?.DeployApplyTime).toBe(at('succeeded') - at('applying'));

    const [wait] = await documentsOf('DeployQueueWait', about);
    expect(wait?.DeployQueueWait).toBeGreaterThanOrEqual(0);
    expect(wait?.DeployQueueWait).toBeLessThanOrEqual(at('waiting_for_approval') - at('queued'));
    const [approvalWait] = await documentsOf('DeployApprovalWait', about);
    expect(approvalWait?.DeployApprovalWait).toBe(at('applying') - at('waiting_for_approval'));

    // The queue depth names its environment as metadata, never as a dimension.
    const [depth] = await documentsOf('DeployQueueDepth', { app_id: scene.app.id, env: 'prod' });
    expect(depth).toMatchObject({ service: 'slipway-lock', Tier: 'production', DeployQueueDepth: 0 });
    const [decided] = await documentsOf('ApprovalsDecided', {});
    expect(decided).toMatchObject({ service: 'slipway-approvals', Decision: 'approved', ApprovalsDecided: 1 });
  });

  it('counts a rolled-back deploy by its outcome, and a refused webhook delivery by provider and reason', async () => {
    const good = await deploy(scene.developer, scene.app.id, { env: 'dev', image: '1.0.0' });
    expect((await statusWhen(scene.developer, good.body.id)).state).toBe('succeeded');
    const bad = await deploy(scene.developer, scene.app.id, { env: 'dev', image: 'bad' });
    expect((await statusWhen(scene.developer, bad.body.id)).state).toBe('rolled_back');
    const [rolledBack] = await documentsOf('DeploymentsFinished', { deployment_id: bad.body.id });
    expect(rolledBack).toMatchObject({ Outcome: 'rolled_back', Tier: 'development' });

    const forged = await client(scene.cloud.url).post(
      '/api/v1/hooks/github/hook_01JD0000000000000000000000',
      { zen: 'hi' },
      { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}`, 'x-github-event': 'ping' },
    );
    expect(forged.status).toBe(401);
    const [refused] = await documentsOf('WebhookDeliveriesRefused', { service: 'slipway-hook' });
    expect(refused).toMatchObject({ Provider: 'github', Reason: 'unauthenticated', WebhookDeliveriesRefused: 1 });
  });

  it('counts a pipeline run and its build by outcome', async () => {
    const pipeline = await scene.admin.post('/api/v1/pipelines', {
      app_id: scene.app.id,
      name: 'ci',
      stages: [
        { name: 'build', type: 'build' },
        { name: 'dev', type: 'deploy', env: 'dev', needs: ['build'] },
      ],
    });
    expect(pipeline.status, pipeline.text).toBe(201);
    const run = await scene.developer.post(`/api/v1/pipelines/${pipeline.body.id}/run`, {
      commit: { sha: 'c0ffee'.padEnd(40, '1'), ref: 'main' },
    });
    expect(run.status, run.text).toBe(202);
    const ended = await eventually(async () => {
      const reply = await scene.developer.get(`/api/v1/runs/${run.body.id}`);
      if (!['succeeded', 'failed', 'cancelled'].includes(reply.body.state))
        throw new Error(`run is ${reply.body.state}`);
      return reply.body as { state: string };
    }, 20_000);
    expect(ended.state).toBe('succeeded');
    const [runs] = await documentsOf('PipelineRunsFinished', {});
    expect(runs).toMatchObject({ Outcome: 'succeeded', PipelineRunsFinished: 1 });
    const [builds] = await documentsOf('BuildsFinished', {});
    expect(builds).toMatchObject({ Outcome: 'succeeded', BuildsFinished: 1 });
  });

  it('lists every series with its dimensions and last value at GET /_local/metrics, as the dashboard will show them', async () => {
    const { metrics } = (await local('/_local/metrics')) as { metrics: MetricSeries[] };
    const series = (name: string, dimensions: Record<string, string>) =>
      metrics.find((m) => m.name === name && JSON.stringify(m.dimensions) === JSON.stringify(dimensions));
    expect(series('DeploymentsFinished', { Outcome: 'succeeded', Tier: 'production' })).toMatchObject({
      namespace: 'Slipway',
      unit: 'Count',
      last: 1,
      source: 'slipway-record-outcome',
    });
    expect(series('DeploymentsFinished', { Outcome: 'rolled_back', Tier: 'development' })?.count).toBe(1);
    expect(series('DeployDuration', { Tier: 'production' })?.count).toBe(1);
    expect(series('DeployDuration', { Tier: 'development' })?.count).toBe(3);
    for (const m of metrics) expect(Object.keys(m.dimensions)).toEqual([...METRICS[m.name as MetricName].dimensions]);
  });
});
