import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_STAGE, workflowName } from '../../../infra/manifest.ts';
import { eventually } from '../client.ts';
import { deploy, type Scene, startScene, statusWhen, stepNames } from './scene.ts';

/** A protected environment: the deployment waits for its approvers, who resume, end or ignore it. */
let scene: Scene;
beforeAll(async () => {
  scene = await startScene({
    // Nobody answering is tested by the approval step's timeout, shortened without touching the ASL.
    workflowOverrides: {
      deploy: { waitTimeOverrides: { WaitForLock: 100, WaitForRollout: 50 }, taskTimeoutOverrides: {} },
    },
  });
});
afterAll(() => scene?.cloud.stop());

async function waitingForApproval() {
  const reply = await deploy(scene.developer, scene.app.id, { env: 'prod', image: `1.${Date.now() % 1000}.0` });
  expect(reply.status).toBe(202);
  const status = await statusWhen(scene.developer, reply.body.id, (s) => s.state === 'waiting_for_approval');
  return { deployment: reply.body, approvalId: status.approval.id as string, status };
}

describe('a deploy to a protected environment', () => {
  it('waits, is listed as pending, and succeeds once an approver approves', async () => {
    const { deployment, approvalId, status } = await waitingForApproval();
    expect(status.approval).toMatchObject({ state: 'pending', approvals: 0, minimum_approvals: 1 });

    const pending = await scene.approvers[0].get('/api/v1/approvals?state=pending');
    expect(pending.status).toBe(200);
    expect(pending.body.items.map((a: { id: string }) => a.id)).toContain(approvalId);

    const approved = await scene.approvers[0].post(`/api/v1/approvals/${approvalId}/approve`, { comment: 'ship it' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      state: 'approved',
      votes: [{ by: 'rm-bob', decision: 'approve', comment: 'ship it' }],
    });

    const done = await statusWhen(scene.developer, deployment.id);
    expect(done.state).toBe('succeeded');
    expect(stepNames(done)).toEqual(['queued', 'waiting_for_approval', 'applying', 'rolling_out', 'succeeded']);
    expect(done.approval).toMatchObject({ state: 'approved', votes: [{ by: 'rm-bob', decision: 'approve' }] });
    const again = await scene.approvers[1].post(`/api/v1/approvals/${approvalId}/approve`, {});
    expect(again.status).toBe(409);
  });

  it('ends as rejected when an approver rejects, with the comment as the reason, and frees the lock', async () => {
    const { deployment, approvalId } = await waitingForApproval();
    const rejected = await scene.approvers[1].post(`/api/v1/approvals/${approvalId}/reject`, {
      comment: 'not during the sale',
    });
    expect(rejected.status).toBe(200);
    const done = await statusWhen(scene.developer, deployment.id);
    expect(done.state).toBe('rejected');
    expect(done.reason).toMatch(/not during the sale/);
    // The lock is free: the next deploy to prod reaches its own approval instead of queueing.
    const next = await waitingForApproval();
    await scene.approvers[0].post(`/api/v1/approvals/${next.approvalId}/reject`, {});
    await statusWhen(scene.developer, next.deployment.id);
  });

  it('refuses self-approval, approvers outside the teams, and honours a minimum of two approvals', async () => {
    await scene.admin.patch(
      `/api/v1/apps/${scene.app.id}/envs/prod`,
      {
        protection: {
          requires_approval: true,
          approver_teams: [scene.team.id],
          minimum_approvals: 2,
          prevent_self_approval: true,
          approval_timeout_minutes: 60,
        },
      },
      { 'if-match': (await scene.admin.get(`/api/v1/apps/${scene.app.id}/envs/prod`)).headers.get('etag') ?? '' },
    );
    const { deployment, approvalId } = await waitingForApproval();
    // The developer is the requester; admins are not in the approver team.
    const self = await scene.developer.post(`/api/v1/approvals/${approvalId}/approve`, {});
    expect(self.status).toBe(403);
    const outsider = await scene.admin.post(`/api/v1/approvals/${approvalId}/approve`, {});
    expect(outsider.status).toBe(403);

    const first = await scene.approvers[0].post(`/api/v1/approvals/${approvalId}/approve`, {});
    expect(first.body).toMatchObject({ state: 'pending' });
    expect((await scene.developer.get(`/api/v1/deployments/${deployment.id}`)).body.state).toBe('waiting_for_approval');
    const second = await scene.approvers[1].post(`/api/v1/approvals/${approvalId}/approve`, {});
    expect(second.body).toMatchObject({ state: 'approved' });
    expect((await statusWhen(scene.developer, deployment.id)).state).toBe('succeeded');
  });

  it('holds a rollback of the protected environment for approval too', async () => {
    const releases = (await scene.developer.get(`/api/v1/apps/${scene.app.id}/envs/prod/releases`)).body.items;
    expect(releases.filter((r: { outcome: string }) => r.outcome === 'succeeded').length).toBeGreaterThanOrEqual(2);
    const rollback = await scene.developer.post('/api/v1/rollbacks', { app_id: scene.app.id, env: 'prod' });
    expect(rollback.status).toBe(202);
    const waiting = await statusWhen(scene.developer, rollback.body.id, (s) => s.state === 'waiting_for_approval');
    await scene.approvers[0].post(`/api/v1/approvals/${waiting.approval.id}/approve`, {});
    await scene.approvers[1].post(`/api/v1/approvals/${waiting.approval.id}/approve`, {});
    const done = await statusWhen(scene.developer, rollback.body.id);
    expect(done.state).toBe('succeeded');
    const latest = (await scene.developer.get(`/api/v1/apps/${scene.app.id}/envs/prod/releases`)).body.items[0];
    expect(latest).toMatchObject({
      kind: 'rollback',
      outcome: 'succeeded',
      restored_revision: rollback.body.target_revision,
    });
  });

  it('can be cancelled while it waits: the approval is closed and the environment freed', async () => {
    const { deployment, approvalId } = await waitingForApproval();
    const viewer = await scene.approvers[0].post(`/api/v1/deployments/${deployment.id}/cancel`, {});
    expect(viewer.status).toBe(403); // approvers read the project; cancelling needs deployment.create
    const cancelled = await scene.developer.post(`/api/v1/deployments/${deployment.id}/cancel`, {
      reason: 'wrong tag',
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ state: 'cancelled', reason: 'cancelled by dev-alice: wrong tag' });
    const approval = await scene.approvers[0].get(`/api/v1/approvals/${approvalId}`);
    expect(approval.body.state).toBe('cancelled');
    expect((await scene.approvers[0].post(`/api/v1/approvals/${approvalId}/approve`, {})).status).toBe(409);
    const again = await scene.developer.post(`/api/v1/deployments/${deployment.id}/cancel`, {});
    expect(again.status).toBe(409);
    expect(again.body.type).toMatch(/deployment-final$/);
    // The environment is free: the next deploy reaches its own approval.
    const next = await waitingForApproval();
    expect((await scene.developer.post(`/api/v1/deployments/${next.deployment.id}/cancel`, {})).status).toBe(200);
    const steps = (await statusWhen(scene.developer, next.deployment.id)).steps;
    expect(steps.at(-1)).toMatchObject({ state: 'cancelled', actor: 'dev-alice' });
  });

  it('a step that read the deployment before a cancel acts no further: no cluster change, no new approval', async () => {
    const { deployment } = await waitingForApproval();
    // The workflow steps' own modules, in this process (the cloud has set their environment).
    const { advanceBeforeActing, loadDeployment } = await import('../../../shared/delivery/progress.ts');
    const { openApproval } = await import('../../../shared/delivery/approvals.ts');
    const stale = await loadDeployment(deployment.id);
    expect((await scene.developer.post(`/api/v1/deployments/${deployment.id}/cancel`, {})).status).toBe(200);

    await expect(advanceBeforeActing(stale, { step: { state: 'applying' } })).rejects.toMatchObject({
      name: 'DeploymentFinished',
    });
    const protection = (await scene.admin.get(`/api/v1/apps/${scene.app.id}/envs/prod`)).body.protection;
    await expect(openApproval(await loadDeployment(deployment.id), protection, 'token', 60)).rejects.toMatchObject({
      name: 'DeploymentFinished',
    });
    const after = (await scene.developer.get(`/api/v1/deployments/${deployment.id}/status`)).body;
    expect(after.state).toBe('cancelled');
    expect(after.approval.state).toBe('cancelled');
  });

  it('a move answers the deployment as it now stands and leaves the copy the step read untouched', async () => {
    const { deployment } = await waitingForApproval();
    const { advance, loadDeployment } = await import('../../../shared/delivery/progress.ts');
    const read = await loadDeployment(deployment.id);
    const snapshot = structuredClone(read);

    const moved = await advance(read, { set: { description: 'noted by a step' } });
    expect(read).toEqual(snapshot);
    expect(moved).toMatchObject({ description: 'noted by a step', version: read.version + 1 });
    expect(await loadDeployment(deployment.id)).toMatchObject({
      description: 'noted by a step',
      version: moved?.version,
    });

    // The cancel answers what it recorded, its own step included.
    const cancelled = await scene.developer.post(`/api/v1/deployments/${deployment.id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.steps.at(-1)).toMatchObject({ state: 'cancelled', actor: 'dev-alice' });
    expect(await advance(read, { set: { description: 'too late' } })).toBeUndefined();
  });

  it('expires when nobody answers before the timeout', async () => {
    scene.cloud.services.stepFunctions.setOverrides(workflowName(LOCAL_STAGE, 'deploy'), {
      waitTimeOverrides: { WaitForLock: 100, WaitForRollout: 50 },
      taskTimeoutOverrides: { WaitForApproval: 1 },
    });
    const { deployment, approvalId } = await waitingForApproval();
    const done = await statusWhen(scene.developer, deployment.id);
    expect(done.state).toBe('expired');
    await eventually(async () => {
      const approval = await scene.approvers[0].get(`/api/v1/approvals/${approvalId}`);
      expect(approval.body.state).toBe('expired');
    });
    const late = await scene.approvers[0].post(`/api/v1/approvals/${approvalId}/approve`, {});
    expect(late.status).toBe(409);
  });
});
