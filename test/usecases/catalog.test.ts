import { describe, expect, it } from 'vitest';
import { createApp } from '../../shared/catalog/apps.ts';
import { createCluster } from '../../shared/catalog/clusters.ts';
import { createEnv } from '../../shared/catalog/environments.ts';
import { createProject, deleteProject, getProject, updateProject } from '../../shared/catalog/projects.ts';
import { Conflict, Forbidden, Invalid, NotFound, StaleVersion } from '../../shared/errors.ts';
import { createBinding } from '../../shared/iam/bindings.ts';
import { me } from '../../shared/iam/users.ts';
import { admin, failure, nothingElse, person, unique } from './callers.ts';

/** The catalog's rules where they live: no gateway, no HTTP, the real table. */
const root = admin();
const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n').toString(
  'base64',
);

const newProject = () => createProject(root, { name: unique('shop') }, nothingElse);
const newApp = (projectId: string, name = unique('api')) =>
  createApp(
    root,
    {
      project_id: projectId,
      name,
      repository: { provider: 'github', url: 'https://github.com/acme/api', default_branch: 'main' },
      deploy: { kind: 'helm', path: 'charts/api' },
      image_repository: 'ghcr.io/acme/api',
    },
    nothingElse,
  );
const newCluster = () =>
  createCluster(
    root,
    {
      name: unique('eks'),
      region: 'eu-west-1',
      api_server_url: 'https://abc.gr7.eu-west-1.eks.amazonaws.com',
      ca_data: ca,
      auth: { mode: 'eks-iam', role_arn: 'arn:aws:iam::123456789012:role/slipway-deployer', eks_cluster_name: 'e' },
    },
    nothingElse,
  );

/** Registers a person (their first call) and binds them a role on a project. */
async function bound(role: 'viewer' | 'maintainer', projectId: string) {
  const someone = person(unique('user'));
  await me(someone);
  await createBinding(
    root,
    { role, subject: { kind: 'user', id: someone.sub }, scope: { kind: 'project', project_id: projectId } },
    nothingElse,
  );
  return someone;
}

describe('projects', () => {
  it('hides a project from a caller without a grant on it (NotFound, not Forbidden)', async () => {
    const project = await newProject();
    const stranger = person(unique('stranger'));
    expect(await failure(getProject(stranger, project.id))).toBeInstanceOf(NotFound);
  });

  it('lets a viewer read but not change (Forbidden)', async () => {
    const project = await newProject();
    const viewer = await bound('viewer', project.id);
    expect((await getProject(viewer, project.id)).name).toBe(project.name);
    const refused = await failure(updateProject(viewer, project.id, { patch: { display_name: 'x' } }, 1));
    expect(refused).toBeInstanceOf(Forbidden);
  });

  it('refuses a change based on an old version (StaleVersion) and keeps the newer one', async () => {
    const project = await newProject();
    await updateProject(root, project.id, { patch: { display_name: 'First' } }, 1);
    const stale = await failure(updateProject(root, project.id, { patch: { display_name: 'Second' } }, 1));
    expect(stale).toBeInstanceOf(StaleVersion);
    expect((await getProject(root, project.id)).display_name).toBe('First');
  });

  it('refuses to delete a project that still has applications (Conflict has-children)', async () => {
    const project = await newProject();
    await newApp(project.id);
    const refused = await failure(deleteProject(root, project.id, 1));
    expect(refused).toBeInstanceOf(Conflict);
    expect(refused.code).toBe('has-children');
    expect((await getProject(root, project.id)).id).toBe(project.id);
  });

  it('takes a name once (Conflict name-taken)', async () => {
    const project = await newProject();
    const again = await failure(createProject(root, { name: project.name }, nothingElse));
    expect(again).toBeInstanceOf(Conflict);
    expect(again.code).toBe('name-taken');
  });
});

describe('applications and environments', () => {
  it('names an application once per project', async () => {
    const project = await newProject();
    const app = await newApp(project.id);
    const again = await failure(newApp(project.id, app.name));
    expect(again).toBeInstanceOf(Conflict);
    expect(again.code).toBe('name-taken');
    const elsewhere = await newProject();
    expect((await newApp(elsewhere.id, app.name)).name).toBe(app.name);
  });

  it('refuses an environment on a cluster that does not exist (Invalid unknown-cluster)', async () => {
    const project = await newProject();
    const app = await newApp(project.id);
    const refused = await failure(
      createEnv(
        root,
        app.id,
        { name: 'dev', cluster_id: 'cls_01jd0000000000000000000000', namespace: unique('ns') },
        nothingElse,
      ),
    );
    expect(refused).toBeInstanceOf(Invalid);
    expect(refused.code).toBe('unknown-cluster');
  });

  it('places an environment on an existing cluster', async () => {
    const project = await newProject();
    const app = await newApp(project.id);
    const cluster = await newCluster();
    const env = await createEnv(
      root,
      app.id,
      { name: 'dev', cluster_id: cluster.id, namespace: unique('ns') },
      nothingElse,
    );
    expect(env).toMatchObject({ app_id: app.id, project_id: project.id, cluster_id: cluster.id });
  });
});
