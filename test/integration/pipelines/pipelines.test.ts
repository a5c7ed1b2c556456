import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../client.ts';
import { type DeliveryWorld, deliveryWorld } from '../delivery/world.ts';
import { startTestCloud, type TestCloud } from '../harness.ts';

/** Pipelines as a platform team writes them: YAML or JSON, checked against the app, versioned. */
let cloud: TestCloud;
let world: DeliveryWorld;
beforeAll(async () => {
  cloud = await startTestCloud();
  world = await deliveryWorld(cloud);
});
afterAll(() => cloud?.stop());

const yamlOf = (name: string) => `# the release train
app_id: ${world.app.id}
name: ${name}
description: Build once, deploy everywhere
stages:
  - name: build
    type: build
    dockerfile: docker/Dockerfile
    build_args: { NODE_ENV: production }
  - name: dev
    type: deploy
    env: dev
    needs: [build]
  - name: prod
    type: deploy
    env: prod
    needs: [dev]
triggers:
  branches: [main, 'release/**']
  paths: ['src/**', '!docs/**']
concurrency:
  policy: cancel_in_progress
`;

const postYaml = (api: Client, text: string) =>
  api.request('POST', '/api/v1/pipelines', { raw: text, headers: { 'content-type': 'application/yaml' } });

describe('a pipeline', () => {
  it('is created from YAML, with its defaults filled in, at version 1', async () => {
    const reply = await postYaml(world.admin, yamlOf('release'));
    expect(reply.status, reply.text).toBe(201);
    expect(reply.headers.get('location')).toBe(`/api/v1/pipelines/${reply.body.id}`);
    expect(reply.headers.get('etag')).toBe('"v1"');
    expect(reply.body).toMatchObject({
      app_id: world.app.id,
      project_id: world.project.id,
      name: 'release',
      version: 1,
      stages: [
        { name: 'build', type: 'build', context: '.', dockerfile: 'docker/Dockerfile', cache: true, needs: [] },
        { name: 'dev', type: 'deploy', env: 'dev', needs: ['build'] },
        { name: 'prod', type: 'deploy', env: 'prod', needs: ['dev'] },
      ],
      triggers: { branches: ['main', 'release/**'], tags: [], paths: ['src/**', '!docs/**'], pull_requests: false },
      concurrency: { policy: 'cancel_in_progress' },
    });
    const listed = await world.developer.get(`/api/v1/pipelines?app_id=${world.app.id}`);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((p: { id: string }) => p.id)).toContain(reply.body.id);
  });

  it('gets a new version on every change, and keeps every earlier one', async () => {
    const created = await postYaml(world.admin, yamlOf('train'));
    const path = `/api/v1/pipelines/${created.body.id}`;
    const put = await world.admin.request('PUT', path, {
      raw: yamlOf('train')
        .split('\n')
        .filter((line) => !line.startsWith('app_id') && !line.startsWith('name:'))
        .join('\n')
        .replace('policy: cancel_in_progress', 'policy: queue'),
      headers: { 'content-type': 'application/yaml', 'if-match': '"v1"' },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({ version: 2, concurrency: { policy: 'queue' } });

    const patched = await world.admin.patch(
      path,
      { description: 'Only dev', stages: put.body.stages.slice(0, 2) },
      {
        'if-match': '"v2"',
      },
    );
    expect(patched.status, patched.text).toBe(200);
    expect(patched.headers.get('etag')).toBe('"v3"');
    expect(patched.body.stages.map((s: { name: string }) => s.name)).toEqual(['build', 'dev']);

    const stale = await world.admin.patch(path, { description: 'late' }, { 'if-match': '"v2"' });
    expect(stale.status).toBe(412);

    const first = await world.developer.get(`${path}?version=1`);
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBeNull();
    expect(first.body).toMatchObject({ version: 1, concurrency: { policy: 'cancel_in_progress' } });
    expect(first.body.stages).toHaveLength(3);
    expect((await world.developer.get(`${path}?version=4`)).status).toBe(404);
    expect((await world.developer.get(`${path}?version=zero`)).status).toBe(400);
    expect((await world.developer.get(path)).body).toMatchObject({ version: 3, description: 'Only dev' });
  });

  it('may be written by maintainers and read by viewers; developers may not change it', async () => {
    const created = await postYaml(world.admin, yamlOf('guarded'));
    const refused = await world.developer.patch(
      `/api/v1/pipelines/${created.body.id}`,
      { description: 'x' },
      {
        'if-match': '"v1"',
      },
    );
    expect(refused.status).toBe(403);
    expect((await world.approvers[0].get(`/api/v1/pipelines/${created.body.id}`)).status).toBe(200);
  });

  it('keeps its application from being deleted, until it is deleted itself', async () => {
    const app = await world.admin.post('/api/v1/apps', {
      project_id: world.project.id,
      name: `lonely-${process.pid}`,
      repository: { provider: 'github', url: 'https://github.com/acme/lonely', default_branch: 'main' },
      deploy: { kind: 'manifests' },
      image_repository: 'registry.example.com/shop/lonely',
    });
    const pipeline = await world.admin.post('/api/v1/pipelines', {
      app_id: app.body.id,
      name: 'ci',
      stages: [{ name: 'build', type: 'build' }],
    });
    expect(pipeline.status, pipeline.text).toBe(201);
    const blocked = await world.admin.delete(`/api/v1/apps/${app.body.id}`, { 'if-match': '"v1"' });
    expect(blocked.status).toBe(409);
    expect(blocked.body).toMatchObject({ type: 'https://slipway.dev/problems/has-children' });
    expect(blocked.body.detail).toMatch(/pipelines/);

    expect((await world.admin.delete(`/api/v1/pipelines/${pipeline.body.id}`, { 'if-match': '"v1"' })).status).toBe(
      204,
    );
    expect((await world.admin.get(`/api/v1/pipelines/${pipeline.body.id}`)).status).toBe(404);
    // The name is free again, and the application can go.
    expect(
      (
        await world.admin.post('/api/v1/pipelines', {
          app_id: app.body.id,
          name: 'ci',
          stages: [{ name: 'build', type: 'build' }],
        })
      ).status,
    ).toBe(201);
    const again = (await world.admin.get(`/api/v1/pipelines?app_id=${app.body.id}`)).body.items[0];
    await world.admin.delete(`/api/v1/pipelines/${again.id}`, { 'if-match': '"v1"' });
    expect((await world.admin.delete(`/api/v1/apps/${app.body.id}`, { 'if-match': '"v1"' })).status).toBe(204);
  });

  it('has a name unique in its application', async () => {
    await postYaml(world.admin, yamlOf('unique'));
    const again = await postYaml(world.admin, yamlOf('unique'));
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('https://slipway.dev/problems/name-taken');
  });
});

describe('a definition that cannot be a pipeline', () => {
  it('is refused with 400 naming the line and column where the YAML breaks', async () => {
    const broken = `app_id: ${world.app.id}\nname: broken\nstages:\n  - name: build\n   type: build\n`;
    const reply = await postYaml(world.admin, broken);
    expect(reply.status).toBe(400);
    expect(reply.body.detail).toMatch(/YAML/);
    expect(reply.body.invalid_params).toEqual([{ name: 'line 5:1', reason: 'MISSING_CHAR at line 5, column 1' }]);
  });

  it('is refused with 400 naming the stage field, for unknown keys and for needs that cannot be met', async () => {
    const post = (stages: unknown[]) =>
      world.admin.post('/api/v1/pipelines', { app_id: world.app.id, name: 'bad', stages });
    const unknownKey = await post([{ name: 'build', type: 'build', privileged: true }]);
    expect(unknownKey.status).toBe(400);
    expect(JSON.stringify(unknownKey.body.invalid_params)).toContain('privileged');
    const unknownNeed = await post([
      { name: 'build', type: 'build' },
      { name: 'dev', type: 'deploy', env: 'dev', needs: ['biuld'] },
    ]);
    expect(unknownNeed.body.invalid_params).toEqual([
      { name: 'stages.1.needs', reason: expect.stringContaining('biuld') },
    ]);
    const cycle = await post([
      { name: 'build', type: 'build' },
      { name: 'a', type: 'deploy', env: 'dev', needs: ['build', 'b'] },
      { name: 'b', type: 'deploy', env: 'prod', needs: ['a'] },
    ]);
    expect(cycle.body.invalid_params).toEqual([{ name: 'stages', reason: 'cycle among a, b' }]);
    const elsewhere = await post([
      { name: 'build', type: 'build' },
      { name: 'qa', type: 'deploy', env: 'qa', needs: ['build'] },
    ]);
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.body.type).toBe('https://slipway.dev/problems/unknown-environment');
    expect(
      (await world.admin.get(`/api/v1/pipelines?app_id=${world.app.id}&limit=100`)).body.items.map(
        (p: { name: string }) => p.name,
      ),
    ).not.toContain('bad');
  });
});
