import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { secretsToMask } from '../../../shared/builds/credentials.ts';
import {
  BUILD_DEADLINE_SECONDS,
  type BuildJobSpec,
  buildctlArguments,
  jobName,
  jobReading,
  renderBuildJob,
  renderBuildSecret,
  secretName,
} from '../../../shared/k8s/build-job.ts';

const spec: BuildJobSpec = {
  buildId: 'bld_01jd7wz6xq3v9k2m4n5p6r7s8t',
  appId: 'app_01jd7wz6xq3v9k2m4n5p6r7s8t',
  namespace: 'slipway-builds',
  builderImage: 'moby/buildkit:v0.31.2-rootless',
  repositoryUrl: 'https://github.com/acme/shop-api',
  sha: 'a'.repeat(40),
  image: `registry.example.com/shop/api:${'a'.repeat(40)}`,
  imageRepository: 'registry.example.com/shop/api',
  registryHost: 'registry.example.com',
  context: 'services/api',
  dockerfile: 'docker/Dockerfile.prod',
  buildArgs: { NODE_ENV: 'production', NOTE: 'a,b=c' },
  target: 'runtime',
  cache: true,
  gitUsername: 'x-access-token',
};

describe('the build Job', () => {
  const job = renderBuildJob(spec);
  const pod = job.spec?.template.spec;
  const container = pod?.containers[0];

  it('runs once, within a deadline, is cleaned up after it finishes, and starts suspended', () => {
    expect(job.metadata).toMatchObject({ name: 'build-01jd7wz6xq3v9k2m4n5p6r7s8t', namespace: 'slipway-builds' });
    expect(job.spec).toMatchObject({
      suspend: true,
      backoffLimit: 0,
      activeDeadlineSeconds: BUILD_DEADLINE_SECONDS,
      ttlSecondsAfterFinished: expect.any(Number),
    });
    expect(pod).toMatchObject({ restartPolicy: 'Never', automountServiceAccountToken: false });
  });

  it('is labelled as Slipway’s, for this build and app', () => {
    expect(job.metadata?.labels).toEqual({
      'app.kubernetes.io/managed-by': 'slipway',
      'slipway.dev/build-id': spec.buildId,
      'slipway.dev/app-id': spec.appId,
    });
    expect(job.spec?.template.metadata?.labels).toEqual(job.metadata?.labels);
  });

  it('runs rootless BuildKit unprivileged, with resource limits, its credentials only from its Secret', () => {
    expect(container?.image).toBe('moby/buildkit:v0.31.2-rootless');
    expect(container?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container?.securityContext?.privileged).toBeUndefined();
    expect(container?.resources?.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container?.envFrom).toEqual([{ secretRef: { name: secretName(spec.buildId) } }]);
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ GIT_URL: spec.repositoryUrl, GIT_SHA: spec.sha, IMAGE: spec.image });
    expect(JSON.stringify(job)).not.toMatch(/PASSWORD"|TOKEN"/);
    expect(container?.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  it('fetches exactly the commit and writes the digest as its termination message', () => {
    const script = container?.command?.[2] ?? '';
    expect(container?.command?.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(script).toContain('git fetch -q --depth 1 "$GIT_URL" "$GIT_SHA"');
    expect(script).toContain('git checkout -q --detach FETCH_HEAD');
    expect(script).toContain('> /dev/termination-log');
  });

  it('builds the Dockerfile relative to the context, with its target and build arguments, and pushes <repo>:<sha>', () => {
    const args = buildctlArguments(spec);
    expect(args).toEqual(
      expect.arrayContaining([
        'context=/home/user/src/services/api',
        'dockerfile=/home/user/src/services/api/docker',
        'filename=Dockerfile.prod',
        'target=runtime',
        'build-arg:NODE_ENV=production',
        'build-arg:NOTE=a,b=c',
        `type=image,name=${spec.image},push=true`,
        'type=registry,ref=registry.example.com/shop/api:buildcache,mode=max',
      ]),
    );
    expect(buildctlArguments({ ...spec, cache: false, target: undefined, buildArgs: {} })).toContain('--no-cache');
    // Arguments travel as argv ("$@"), never through a shell.
    expect(container?.command?.slice(3)).toEqual(['slipway-build', ...args]);
  });

  it('keeps its credentials in a Secret owned by the Job, so deleting the Job deletes them', () => {
    const secret = renderBuildSecret(
      spec,
      { registry: { username: 'ci', password: 'hunter2-long' }, git: { token: 'ghp_token' } },
      { name: jobName(spec.buildId), uid: 'uid-1' },
    );
    expect(secret.metadata?.ownerReferences).toEqual([
      { apiVersion: 'batch/v1', kind: 'Job', name: jobName(spec.buildId), uid: 'uid-1' },
    ]);
    expect(secret.stringData).toEqual({
      REGISTRY_USERNAME: 'ci',
      REGISTRY_PASSWORD: 'hunter2-long',
      GIT_TOKEN: 'ghp_token',
    });
    expect(renderBuildSecret(spec, {}, { name: 'j', uid: 'u' }).stringData).toEqual({});
  });

  it('masks each secret and the basic-auth form the container sends', () => {
    const masks = secretsToMask({
      registry: { host: 'r', username: 'ci', password: 'hunter2-long' },
      git: { username: 'x-access-token', token: 'ghp_token' },
    });
    expect(masks).toEqual([
      'hunter2-long',
      Buffer.from('ci:hunter2-long').toString('base64'),
      'ghp_token',
      Buffer.from('x-access-token:ghp_token').toString('base64'),
    ]);
  });
});

describe('reading where a build Job stands', () => {
  const podWith = (state: object): V1Pod => ({
    metadata: { name: 'build-x-abcde' },
    status: { containerStatuses: [{ name: 'build', state, image: '', imageID: '', ready: false, restartCount: 0 }] },
  });
  const jobWith = (conditions: object[] = []): V1Job => ({ status: { conditions } as V1Job['status'] });

  it('is pending until the container starts, saying why it waits', () => {
    expect(
      jobReading(jobWith(), podWith({ waiting: { reason: 'ImagePullBackOff', message: 'Back-off\npulling' } })),
    ).toEqual({
      phase: 'pending',
      pod: 'build-x-abcde',
      started: false,
      waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling' },
    });
    expect(jobReading(jobWith(), undefined)).toEqual({ phase: 'pending', started: false });
  });

  it('succeeds with the digest of the termination message', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const done = podWith({ terminated: { exitCode: 0, message: JSON.stringify({ digest }) } });
    expect(jobReading(jobWith([{ type: 'Complete', status: 'True' }]), done)).toMatchObject({
      phase: 'succeeded',
      started: true,
      digest,
    });
    expect(
      jobReading(jobWith([{ type: 'Complete', status: 'True' }]), podWith({ terminated: { exitCode: 0 } })),
    ).not.toHaveProperty('digest');
  });

  it('fails with the exit code and the last line the build wrote, or the deadline', () => {
    const failed = podWith({
      terminated: { exitCode: 128, message: 'Cloning...\nfatal: reference is not a tree: dead\n' },
    });
    expect(
      jobReading(jobWith([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }]), failed),
    ).toMatchObject({
      phase: 'failed',
      reason: 'the build exited with code 128: fatal: reference is not a tree: dead',
    });
    expect(
      jobReading(jobWith([{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }]), undefined),
    ).toMatchObject({
      phase: 'failed',
      reason: expect.stringContaining('longer than its deadline'),
    });
  });
});
