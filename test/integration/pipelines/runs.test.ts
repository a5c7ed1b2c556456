import { request } from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { simulatedBuildDigest } from '../../../infra/local/kubernetes/builds.ts';
import { type Client, eventually } from '../client.ts';
import { IMAGE_REPOSITORY, quickDelivery, type Scene, startScene, statusWhen } from '../delivery/scene.ts';

/**
 * Runs end to end on the local cloud: the pipeline workflow runs the build machine (a Job on the
 * simulated cluster) and the deploy machine as nested executions, through the HTTP API.
 */
let scene: Scene;
beforeAll(async () => {
  scene = await startScene({
    workflowOverrides: { ...quickDelivery.workflowOverrides, pipeline: { waitTimeOverrides: { WaitForTurn: 50 } } },
  });
});
afterAll(() => scene?.cloud.stop());
afterEach(() => {
  delete process.env.SLIPWAY_BUILD_IMAGE;
});

type Run = Record<string, unknown> & {
  id: string;
  state: string;
  stages: {
    name: string;
    state: string;
    build_id?: string;
    deployment_id?: string;
    reason?: string;
    started_at?: string;
    finished_at?: string;
  }[];
};

let commits = 0;
/** A fresh commit SHA; `prefix` steers the simulated builder (`bad`: the build fails). */
const sha = (prefix = 'c0') => `${prefix}${String(++commits).padStart(8, '0')}`.padEnd(40, 'e');

const ci = [
  { name: 'build', type: 'build' },
  { name: 'dev', type: 'deploy', env: 'dev', needs: ['build'] },
];

let pipelines = 0;
async function pipeline(body: Record<string, unknown>) {
  const reply = await scene.admin.post('/api/v1/pipelines', { app_id: scene.app.id, name: `p${++pipelines}`, ...body });
  expect(reply.status, reply.text).toBe(201);
  return reply.body as { id: string; version: number };
}

async function start(pipelineId: string, commit: Record<string, unknown>, api: Client = scene.developer) {
  const reply = await api.post(`/api/v1/pipelines/${pipelineId}/run`, { commit });
  expect(reply.status, reply.text).toBe(202);
  expect(reply.headers.get('location')).toBe(`/api/v1/runs/${reply.body.id}`);
  return reply.body as Run;
}

async function runWhen(id: string, done: (run: Run) => boolean, what: string): Promise<Run> {
  return eventually(async () => {
    const reply = await scene.developer.get(`/api/v1/runs/${id}`);
    expect(reply.status).toBe(200);
    if (!done(reply.body))
      throw new Error(`run ${id} is not ${what}: ${reply.body.state} ${JSON.stringify(reply.body.stages)}`);
    return reply.body as Run;
  }, 20_000);
}
const final = (run: Run) => ['succeeded', 'failed', 'cancelled'].includes(run.state);
const stage = (run: Run, name: string) => run.stages.find((s) => s.name === name);

/** The build of a run, once its Job runs on the simulated cluster. */
async function runningJob(runId: string) {
  const run = await runWhen(runId, (r) => stage(r, 'build')?.state === 'running', 'building');
  return eventually(async () => {
    const build = (await scene.developer.get(`/api/v1/builds/${stage(run, 'build')?.build_id}`)).body;
    if (!build.job) throw new Error('no Job yet');
    expect(await jobStatus(build.job)).toBe(200);
    return build.job as { namespace: string; name: string };
  });
}

/** GET of a Job on the simulated cluster, as any client would: the HTTP status. */
function jobStatus(job: { namespace: string; name: string }): Promise<number> {
  const sim = scene.cloud.services.kubernetes;
  return new Promise((resolve, reject) => {
    const url = new URL(`/apis/batch/v1/namespaces/${job.namespace}/jobs/${job.name}`, sim.url);
    const call = request(
      url,
      { ca: Buffer.from(sim.caData, 'base64'), headers: { authorization: `Bearer ${sim.token}` } },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    call.on('error', reject);
    call.end();
  });
}

/** The builder stalls at "pushing layers" and never exits: a build that is still running when we act. */
const buildsHang = () => {
  process.env.SLIPWAY_BUILD_IMAGE = 'moby/buildkit:hang';
};

describe('a run of a pipeline written in YAML', () => {
  it('builds the commit, deploys its digest to dev, waits for prod’s approvers, and succeeds', async () => {
    const yaml = `app_id: ${scene.app.id}
name: release
stages:
  - { name: build, type: build }
  - { name: dev, type: deploy, env: dev, needs: [build] }
  - { name: prod, type: deploy, env: prod, needs: [dev] }
`;
    const created = await scene.admin.request('POST', '/api/v1/pipelines', {
      raw: yaml,
      headers: { 'content-type': 'application/yaml' },
    });
    expect(created.status, created.text).toBe(201);
    const commit = {
      sha: sha(),
      ref: 'main',
      message: 'Ship the cart',
      author: 'Alice <alice@example.com>',
      committed_at: '2026-12-01T09:00:00Z',
    };
    const queued = await start(created.body.id, commit);
    expect(queued).toMatchObject({
      state: 'queued',
      pipeline_version: 1,
      commit: { ...commit, ref: 'refs/heads/main' },
      requested_by: 'dev-alice',
      stages: [
        { name: 'build', type: 'build', state: 'pending' },
        { name: 'dev', type: 'deploy', env: 'dev', state: 'pending' },
        { name: 'prod', type: 'deploy', env: 'prod', state: 'pending' },
      ],
    });

    // Prod is protected: the run waits there, its deployment at the approval gate.
    const waiting = await runWhen(queued.id, (r) => stage(r, 'prod')?.state === 'running', 'at prod');
    const gate = await statusWhen(
      scene.developer,
      stage(waiting, 'prod')?.deployment_id as string,
      (s) => s.state === 'waiting_for_approval',
    );

    // What dev runs is the build's digest in the app's repository, never the tag.
    const build = (await scene.developer.get(`/api/v1/builds/${stage(waiting, 'build')?.build_id}`)).body;
    const digest = simulatedBuildDigest(`${IMAGE_REPOSITORY}:${commit.sha}`, commit.sha);
    expect(build).toMatchObject({ state: 'succeeded', digest, run_id: queued.id });
    expect(waiting.image).toBe(`${IMAGE_REPOSITORY}@${digest}`);
    const dev = (await scene.developer.get(`/api/v1/deployments/${stage(waiting, 'dev')?.deployment_id}`)).body;
    expect(dev).toMatchObject({
      state: 'succeeded',
      env: 'dev',
      image: `${IMAGE_REPOSITORY}@${digest}`,
      run_id: queued.id,
      // The run's commit, with its time: the deployment's DORA lead time starts there.
      commit: { sha: commit.sha, committed_at: commit.committed_at },
    });
    expect(dev.requested_by).toBe('dev-alice');
    const dora = await scene.developer.get(`/api/v1/metrics/dora?app_id=${scene.app.id}&env=dev`);
    expect(dora.body.metrics.lead_time_for_changes).toMatchObject({
      changes: 1,
      mean_seconds: (Date.parse(dev.finished_at) - Date.parse(commit.committed_at)) / 1000,
    });

    // The build's log, through the pipeline: text, and as Server-Sent Events ending with the build's end.
    const log = await scene.developer.get(`/api/v1/pipelines/${created.body.id}/logs`);
    expect(log.status).toBe(200);
    expect(log.headers.get('run-id')).toBe(queued.id);
    expect(log.headers.get('log-complete')).toBe('true');
    expect(log.text).toContain(`checkout --detach ${commit.sha}`);
    expect(log.text).toContain(`slipway.image.digest=${digest}`);
    const events = await scene.developer.get(`/api/v1/pipelines/${created.body.id}/logs`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(events.text).toMatch(/^id: \d+$/m);
    expect(events.text).toContain('event: end');

    const approved = await scene.approvers[0].post(`/api/v1/approvals/${gate.approval.id}/approve`, {});
    expect(approved.status, approved.text).toBe(200);
    const done = await runWhen(queued.id, final, 'final');
    expect(done.state).toBe('succeeded');
    for (const s of done.stages) {
      expect(s).toMatchObject({ state: 'succeeded', actor: 'dev-alice' });
      expect(Date.parse(s.finished_at as never)).toBeGreaterThanOrEqual(Date.parse(s.started_at as never));
    }

    // The auditor records the run's events under the run.
    await eventually(async () => {
      const entries = (await scene.admin.get(`/api/v1/audit?subject=run/${queued.id}`)).body.items ?? [];
      expect(entries.map((e: { type: string }) => e.type).sort()).toEqual([
        'Pipeline Run Started',
        'Pipeline Run Succeeded',
      ]);
    });
  });

  it('ends failed when the build fails, and deploys nothing', async () => {
    const { id } = await pipeline({ stages: ci });
    const run = await start(id, { sha: sha('bad'), ref: 'main' });
    const failed = await runWhen(run.id, final, 'final');
    expect(failed.state).toBe('failed');
    expect(stage(failed, 'build')).toMatchObject({ state: 'failed', reason: expect.stringMatching(/BuildFailed/) });
    expect(stage(failed, 'dev')).toMatchObject({ state: 'skipped' });
    expect(stage(failed, 'dev')?.deployment_id).toBeUndefined();
    expect(failed.reason).toMatch(/^stage build: /);
    const deployments = (await scene.developer.get(`/api/v1/deployments?app_id=${scene.app.id}&limit=100`)).body.items;
    expect(deployments.filter((d: { run_id?: string }) => d.run_id === run.id)).toEqual([]);
  });
});

describe('cancelling a run', () => {
  it('stops its build and deletes the Job; a retry runs the same commit and version again', async () => {
    const { id, version } = await pipeline({ stages: ci });
    buildsHang();
    const commit = { sha: sha(), ref: 'refs/heads/feature/cart' };
    const run = await start(id, commit);
    const job = await runningJob(run.id);

    const cancelled = await scene.developer.post(`/api/v1/runs/${run.id}/cancel`, { reason: 'wrong branch' });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body).toMatchObject({ state: 'cancelled', reason: 'cancelled by dev-alice: wrong branch' });
    expect(stage(cancelled.body, 'build')).toMatchObject({ state: 'cancelled' });
    expect(stage(cancelled.body, 'dev')).toMatchObject({ state: 'skipped' });
    await eventually(async () => expect(await jobStatus(job)).toBe(404));
    const buildPath = `/api/v1/builds/${stage(cancelled.body, 'build')?.build_id}`;
    await eventually(async () => expect((await scene.developer.get(buildPath)).body.state).toBe('cancelled'));
    expect((await scene.developer.post(`/api/v1/runs/${run.id}/cancel`, {})).status).toBe(409);

    delete process.env.SLIPWAY_BUILD_IMAGE;
    await scene.admin.patch(
      `/api/v1/pipelines/${id}`,
      { description: 'a later version' },
      { 'if-match': `"v${version}"` },
    );
    const retry = await scene.developer.post(`/api/v1/runs/${run.id}/retry`);
    expect(retry.status, retry.text).toBe(202);
    expect(retry.body).toMatchObject({ retry_of: run.id, commit, pipeline_version: version, state: 'queued' });
    expect(retry.body.id).not.toBe(run.id);
    expect((await runWhen(retry.body.id, final, 'final')).state).toBe('succeeded');
  });

  it('while a deploy waits for approval cancels that deployment through its own cancel', async () => {
    const { id } = await pipeline({
      stages: [...ci, { name: 'prod', type: 'deploy', env: 'prod', needs: ['dev'] }],
    });
    const run = await start(id, { sha: sha(), ref: 'main' });
    const waiting = await runWhen(run.id, (r) => stage(r, 'prod')?.state === 'running', 'at prod');
    const deployment = stage(waiting, 'prod')?.deployment_id as string;
    await statusWhen(scene.developer, deployment, (s) => s.state === 'waiting_for_approval');

    expect((await scene.developer.post(`/api/v1/runs/${run.id}/cancel`, {})).status).toBe(200);
    const status = await statusWhen(scene.developer, deployment);
    expect(status).toMatchObject({ state: 'cancelled', approval: { state: 'cancelled' } });
    const ended = await runWhen(run.id, final, 'final');
    expect(ended).toMatchObject({ state: 'cancelled' });
    expect(stage(ended, 'prod')).toMatchObject({ state: 'cancelled' });
    expect(stage(ended, 'dev')).toMatchObject({ state: 'succeeded' });
  });
});

describe('two runs on one ref', () => {
  it('under cancel_in_progress: the newer cancels the older, whose Job is deleted', async () => {
    const { id } = await pipeline({ stages: ci, concurrency: { policy: 'cancel_in_progress' } });
    buildsHang();
    const older = await start(id, { sha: sha(), ref: 'main' });
    const job = await runningJob(older.id);
    // `main` and `refs/heads/main` are one ref.
    const newer = await start(id, { sha: sha(), ref: 'refs/heads/main' });
    const superseded = await runWhen(older.id, final, 'final');
    expect(superseded).toMatchObject({ state: 'cancelled', reason: `superseded by ${newer.id} on refs/heads/main` });
    await eventually(async () => expect(await jobStatus(job)).toBe(404));
    await runningJob(newer.id);
    expect((await scene.developer.post(`/api/v1/runs/${newer.id}/cancel`, {})).status).toBe(200);
  });

  it('under queue: the newer waits until the older has ended', async () => {
    const { id } = await pipeline({ stages: ci });
    buildsHang();
    const older = await start(id, { sha: sha(), ref: 'main' });
    await runningJob(older.id);
    const newer = await start(id, { sha: sha(), ref: 'main' });
    const other = await start(id, { sha: sha(), ref: 'release' });
    // Another ref is another lane: it runs at once.
    await runningJob(other.id);
    expect((await scene.developer.get(`/api/v1/runs/${newer.id}`)).body.state).toBe('queued');
    expect((await scene.developer.post(`/api/v1/runs/${older.id}/cancel`, {})).status).toBe(200);
    await runningJob(newer.id);
    for (const run of [newer, other])
      expect((await scene.developer.post(`/api/v1/runs/${run.id}/cancel`, {})).status).toBe(200);
  });
});

describe('a run in progress', () => {
  it('keeps its pipeline from being deleted; a run whose execution is stopped outside the API ends failed and frees its ref', async () => {
    const { id } = await pipeline({ stages: ci });
    buildsHang();
    const run = await start(id, { sha: sha(), ref: 'main' });
    await runningJob(run.id);
    const refused = await scene.admin.delete(`/api/v1/pipelines/${id}`, { 'if-match': '"v1"' });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('https://slipway.dev/problems/has-children');

    // Stopped by an operator (or timed out): no Catch runs; the workflow watcher ends the run.
    const sfn = scene.cloud.services.stepFunctions;
    const arn = `${scene.cloud.services.stateMachineArn('pipeline').replace(':stateMachine:', ':execution:')}:${run.id}`;
    await sfn.service('StopExecution', { executionArn: arn, cause: 'an operator stopped it' });
    const ended = await runWhen(run.id, final, 'final');
    expect(ended).toMatchObject({ state: 'failed', reason: expect.stringMatching(/the workflow ended ABORTED/) });
    expect(stage(ended, 'build')).toMatchObject({ state: 'failed' });

    delete process.env.SLIPWAY_BUILD_IMAGE;
    const next = await start(id, { sha: sha(), ref: 'main' });
    expect((await runWhen(next.id, final, 'final')).state).toBe('succeeded');
    expect((await scene.admin.delete(`/api/v1/pipelines/${id}`, { 'if-match': '"v1"' })).status).toBe(204);
    expect((await scene.developer.get(`/api/v1/runs/${next.id}`)).status).toBe(200);
  });
});
