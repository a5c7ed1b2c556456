import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedStatus } from '../../../infra/local/git-provider.ts';
import { client, eventually } from '../client.ts';
import { quickDelivery, type Scene, startScene } from '../delivery/scene.ts';
import { githubHeaders, githubPush } from '../hooks/payloads.ts';

/**
 * Runs reported as commit statuses, end to end on the local cloud: a run's events reach the commit
 * status function over the bus, which posts to the Git provider simulator as it would to GitHub.
 */
let scene: Scene;
const TOKEN = 'ghp_localStatusToken0123456789';
let tokenArn: string;
beforeAll(async () => {
  scene = await startScene({
    workflowOverrides: { ...quickDelivery.workflowOverrides, pipeline: { waitTimeOverrides: { WaitForTurn: 50 } } },
  });
  tokenArn = scene.cloud.services.putSecret('slipway/git-tokens/shop-api', TOKEN);
  await patchRepository({ status_token_secret_arn: tokenArn });
});
afterAll(() => scene?.cloud.stop());

const git = () => scene.cloud.services.git;

async function patchRepository(repository: Record<string, unknown>) {
  const current = await scene.admin.get(`/api/v1/apps/${scene.app.id}`);
  const reply = await scene.admin.patch(
    `/api/v1/apps/${scene.app.id}`,
    { repository },
    { 'if-match': current.headers.get('etag') ?? '' },
  );
  expect(reply.status, reply.text).toBe(200);
  return reply;
}

let commits = 0;
/** A fresh commit SHA; `bad` makes the simulated build fail. */
const sha = (prefix = 'c5') => `${prefix}${String(++commits).padStart(8, '0')}`.padEnd(40, 'f');

let pipelines = 0;
/** A build-only pipeline, started for `commit` by the developer: the run's id. */
async function run(commit: string): Promise<{ id: string; pipeline: string }> {
  const name = `ci-${++pipelines}`;
  const created = await scene.admin.post('/api/v1/pipelines', {
    app_id: scene.app.id,
    name,
    stages: [{ name: 'build', type: 'build' }],
  });
  expect(created.status, created.text).toBe(201);
  const started = await scene.developer.post(`/api/v1/pipelines/${created.body.id}/run`, {
    commit: { sha: commit, ref: 'main' },
  });
  expect(started.status, started.text).toBe(202);
  return { id: started.body.id, pipeline: name };
}

/** The states the simulator recorded for a commit, once there are `count` of them. */
const statesAt = (commit: string, count: number) =>
  eventually(async () => {
    const recorded = git().statuses(commit);
    if (recorded.length < count)
      throw new Error(`${recorded.length} statuses for ${commit}: ${JSON.stringify(recorded)}`);
    return recorded;
  }, 20_000);

const states = (recorded: RecordedStatus[]) => recorded.map((s) => s.state);

describe('a run reported to GitHub as commit statuses', () => {
  it('goes pending then success on the commit, in context slipway/<pipeline>, linking the run, with the app’s token', async () => {
    const commit = sha();
    const { id, pipeline } = await run(commit);
    const recorded = await statesAt(commit, 2);
    expect(states(recorded)).toEqual(['pending', 'success']);
    for (const status of recorded) {
      expect(status).toMatchObject({
        provider: 'github',
        repository: 'acme/shop-api',
        context: `slipway/${pipeline}`,
        target_url: `${scene.cloud.url}/api/v1/runs/${id}`,
        path: `/repos/acme/shop-api/statuses/${commit}`,
        token_hash: createHash('sha256').update(TOKEN).digest('hex').slice(0, 12),
      });
    }
    // Anyone trying it by hand reads the same through the simulator's HTTP view.
    const view = await fetch(`${git().url}/_local/git/statuses?sha=${commit}`);
    expect(((await view.json()) as RecordedStatus[]).map((s) => s.state)).toEqual(['pending', 'success']);
  });

  it('is never set back by a late event: a Started redelivered after the run ended posts the final state', async () => {
    const commit = sha();
    const { id, pipeline } = await run(commit);
    await statesAt(commit, 2);
    // EventBridge does not keep order, and a retried post can land after a newer one.
    scene.cloud.services.bus.emit({
      source: 'slipway.pipelines',
      detailType: 'Pipeline Run Started',
      detail: {
        id: `late-${id}`,
        time: new Date().toISOString(),
        actor: 'dev-alice',
        subject: `run/${id}`,
        data: {
          run_id: id,
          pipeline_id: 'pln_late',
          pipeline_name: pipeline,
          app_id: scene.app.id,
          app_name: scene.app.name,
          state: 'running',
          commit: { sha: commit, ref: 'main' },
          requested_by: 'dev-alice',
          url: `/api/v1/runs/${id}`,
        },
      },
    });
    expect(states(await statesAt(commit, 3))).toEqual(['pending', 'success', 'success']);
  });

  it('goes pending then failure when the build fails', async () => {
    const commit = sha('bad');
    await run(commit);
    expect(states(await statesAt(commit, 2))).toEqual(['pending', 'failure']);
  });

  it('is posted again when the provider answers 500 (the bus retries), and lands', async () => {
    git().failNext(500, 1);
    const commit = sha();
    await run(commit);
    expect(states(await statesAt(commit, 2))).toEqual(['pending', 'success']);
  });

  it('is dropped, not retried, when the provider refuses it with a 4xx', async () => {
    git().failNext(401, 1);
    const commit = sha();
    const { id } = await run(commit);
    await eventually(async () => {
      expect((await scene.developer.get(`/api/v1/runs/${id}`)).body.state).toBe('succeeded');
    }, 20_000);
    await statesAt(commit, 1);
    // Bus retries here take at most 100 ms: a retried refusal would have landed by now.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(git().statuses(commit)).toHaveLength(1);
  });
});

describe('a push, end to end', () => {
  it('starts a run that builds and deploys dev, and the pushed commit goes pending then success at GitHub', async () => {
    const hook = await scene.admin.post(`/api/v1/apps/${scene.app.id}/webhooks`, { provider: 'github' });
    expect(hook.status, hook.text).toBe(201);
    const created = await scene.admin.post('/api/v1/pipelines', {
      app_id: scene.app.id,
      name: 'push-to-dev',
      stages: [
        { name: 'build', type: 'build' },
        { name: 'dev', type: 'deploy', env: 'dev', needs: ['build'] },
      ],
      triggers: { branches: ['main'] },
    });
    expect(created.status, created.text).toBe(201);

    const commit = sha();
    const body = JSON.stringify(
      githubPush({ repo: 'https://github.com/acme/shop-api', ref: 'refs/heads/main', sha: commit }),
    );
    const delivered = await client(scene.cloud.url).request('POST', `/api/v1/hooks/github/${hook.body.id}`, {
      raw: body,
      headers: githubHeaders('push', body, hook.body.secret),
    });
    expect(delivered.status, delivered.text).toBe(202);

    // The file's other pipelines have no triggers, so the push runs them too: each has its own context.
    const recorded = await eventually(async () => {
      const ours = git()
        .statuses(commit)
        .filter((s) => s.context === 'slipway/push-to-dev');
      if (ours.length < 2) throw new Error(`${ours.length} statuses for push-to-dev`);
      return ours;
    }, 20_000);
    expect(states(recorded)).toEqual(['pending', 'success']);
    const runPath = new URL(recorded[1]?.target_url ?? '').pathname;
    const finished = await scene.developer.get(runPath);
    expect(finished.body).toMatchObject({ state: 'succeeded', commit: { sha: commit, ref: 'refs/heads/main' } });
    expect(finished.body.stages.map((s: { name: string; state: string }) => `${s.name} ${s.state}`)).toEqual([
      'build succeeded',
      'dev succeeded',
    ]);
  });
});

describe('an app’s provider settings', () => {
  it('never return the status token or its secret reference, only that one is set', async () => {
    const patched = await patchRepository({ status_token_secret_arn: tokenArn });
    const got = await scene.admin.get(`/api/v1/apps/${scene.app.id}`);
    const listed = await scene.admin.get(`/api/v1/apps?project_id=${scene.project.id}`);
    for (const reply of [patched, got, listed]) {
      expect(reply.status).toBe(200);
      expect(reply.text).not.toContain(tokenArn);
      expect(reply.text).not.toContain('slipway/git-tokens');
      expect(reply.text).not.toContain(TOKEN);
    }
    expect(got.body.repository).toEqual({
      provider: 'github',
      url: 'https://github.com/acme/shop-api',
      default_branch: 'main',
      status_token_configured: true,
    });
    // A patch of another field keeps the token; the audit log's copy of the change does not show it either.
    await patchRepository({ default_branch: 'main' });
    expect((await scene.admin.get(`/api/v1/apps/${scene.app.id}`)).body.repository.status_token_configured).toBe(true);
    const audit = await eventually(async () => {
      const reply = await scene.admin.get(`/api/v1/audit?subject=app/${scene.app.id}`);
      expect(reply.text).toContain('status_token_configured');
      return reply;
    });
    expect(audit.text).not.toContain(tokenArn);
  });

  it('refuse a base URL over plain http to a host the platform does not allow', async () => {
    const current = await scene.admin.get(`/api/v1/apps/${scene.app.id}`);
    const reply = await scene.admin.patch(
      `/api/v1/apps/${scene.app.id}`,
      { repository: { api_base_url: 'http://ghe.example.com/api/v3' } },
      { 'if-match': current.headers.get('etag') ?? '' },
    );
    expect(reply.status).toBe(400);
    expect(reply.headers.get('content-type')).toContain('application/problem+json');
  });

  it('send statuses to the GitHub Enterprise API the app names', async () => {
    await patchRepository({ api_base_url: `${git().url}/api/v3` });
    const commit = sha();
    await run(commit);
    const recorded = await statesAt(commit, 2);
    expect(recorded.map((s) => s.path)).toEqual([
      `/api/v3/repos/acme/shop-api/statuses/${commit}`,
      `/api/v3/repos/acme/shop-api/statuses/${commit}`,
    ]);
  });

  it('send statuses to GitLab in its own words, the project path as its id, the branch as its ref', async () => {
    await patchRepository({ provider: 'gitlab', url: 'https://gitlab.com/acme/backend/shop-api', api_base_url: null });
    const commit = sha();
    await run(commit);
    const recorded = await statesAt(commit, 2);
    expect(states(recorded)).toEqual(['running', 'success']);
    expect(recorded[1]).toMatchObject({
      provider: 'gitlab',
      repository: 'acme/backend/shop-api',
      ref: 'main',
      path: `/api/v4/projects/acme%2Fbackend%2Fshop-api/statuses/${commit}`,
    });
  });
});
