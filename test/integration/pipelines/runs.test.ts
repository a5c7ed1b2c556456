import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, eventually } from '../client.ts';
import { quickDelivery, type Scene, startScene } from '../delivery/scene.ts';

let scene: Scene;
beforeAll(async () => {
  scene = await startScene({
    workflowOverrides: { ...quickDelivery.workflowOverrides, pipeline: { waitTimeOverrides: { WaitForTurn: 50 } } },
  });
});
afterAll(() => scene?.cloud.stop());

const sha = (n: number) => n.toString(16).padStart(40, 'a');

async function pipeline(definition: Record<string, unknown> = {}) {
  const reply = await scene.admin.post('/api/v1/pipelines', {
    app_id: scene.app.id,
    name: `p-${Date.now() % 100000}-${Math.floor(Math.random() * 1000)}`,
    stages: [
      { name: 'build', type: 'build' },
      { name: 'dev', type: 'deploy', env: 'dev', needs: ['build'] },
    ],
    ...definition,
  });
  expect(reply.status, reply.text).toBe(201);
  return reply.body;
}

async function runWhen(api: Client, id: string, done: (run: Record<string, unknown>) => boolean, deadlineMs = 20_000) {
  return eventually(async () => {
    const reply = await api.get(`/api/v1/runs/${id}`);
    expect(reply.status).toBe(200);
    if (!done(reply.body)) throw new Error(`run ${id} is ${reply.body.state}: ${JSON.stringify(reply.body.stages)}`);
    return reply.body;
  }, deadlineMs);
}
const final = (run: Record<string, unknown>) => ['succeeded', 'failed', 'cancelled'].includes(run.state as string);

describe('a run', () => {
  it('scratch', async () => {
    const p = await pipeline();
    const reply = await scene.developer.post(`/api/v1/pipelines/${p.id}/run`, { commit: { sha: sha(1), ref: 'main' } });
    expect(reply.status, reply.text).toBe(202);
    const run = await runWhen(scene.developer, reply.body.id, final);
    console.log(JSON.stringify(run, null, 1));
  });
});
