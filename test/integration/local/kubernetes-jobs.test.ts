/**
 * What builds need from a build cluster, against the Kubernetes simulator through
 * @kubernetes/client-node: batch/v1 Jobs and their pods, pod logs read and followed with `Log`,
 * Secrets tied to a Job by owner references, and the simulated builder's rules.
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import {
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  Log,
  type LogOptions,
  type V1EnvVar,
  type V1Job,
  type V1JobSpec,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubernetesSimulator, startKubernetesSimulator } from '../../../infra/local/kubernetes/simulator.ts';
import { eventually } from '../client.ts';
import { applyNamespace, failure, fieldManager, serverSideApply } from './simulator-clients.ts';

const pace = 40;
const builder = 'gcr.io/kaniko-project/executor:v1.23.2';
const image = 'registry.local/shop/web:1a2b3c4';
const goodSha = '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d';
/** kubelet's timestamp prefix: RFC 3339 with nine fraction digits, then a space. */
const stamped = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(\d{9})Z) (.*)$/;

let sim: KubernetesSimulator;
let batch: BatchV1Api;
let core: CoreV1Api;
let kubeConfig: KubeConfig;

beforeAll(async () => {
  sim = await startKubernetesSimulator({ podStartMs: pace });
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(sim.kubeconfig);
  batch = kubeConfig.makeApiClient(BatchV1Api);
  core = kubeConfig.makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await sim?.stop();
});

function job(name: string, env: V1EnvVar[], spec: Partial<V1JobSpec> = {}, containerImage = builder): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { 'slipway.dev/build-id': name } },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { 'slipway.dev/build-id': name } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'build', image: containerImage, env }] },
      },
      ...spec,
    },
  };
}

function buildEnv(sha: string, extra: V1EnvVar[] = []): V1EnvVar[] {
  return [
    { name: 'GIT_URL', value: 'https://git.example.com/acme/shop.git' },
    { name: 'GIT_SHA', value: sha },
    { name: 'IMAGE', value: image },
    ...extra,
  ];
}

async function podOf(namespace: string, jobName: string): Promise<V1Pod> {
  return eventually(async () => {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `job-name=${jobName}` });
    expect(pods.items).toHaveLength(1);
    return pods.items[0] as V1Pod;
  });
}

async function runningPod(namespace: string, jobName: string): Promise<V1Pod> {
  return eventually(async () => {
    const pod = await podOf(namespace, jobName);
    expect(pod.status?.phase).toBe('Running');
    return pod;
  });
}

async function finished(namespace: string, name: string, type: 'Complete' | 'Failed'): Promise<V1Job> {
  return eventually(async () => {
    const read = await batch.readNamespacedJob({ name, namespace });
    expect(read.status?.conditions?.map((c) => c.type)).toEqual([type]);
    return read;
  });
}

/** Starts reading a pod's log; `text()` resolves with everything once the server ends the stream. */
/** A pod's log as the server sends it, once it ends the stream (at the container's end when following). */
async function readLog(namespace: string, pod: string, options: LogOptions = {}): Promise<string> {
  const sink = new PassThrough();
  let received = '';
  sink.on('data', (chunk: Buffer) => {
    received += chunk.toString();
  });
  const ended = new Promise<void>((resolve) => sink.on('end', resolve));
  await new Log(kubeConfig).log(namespace, pod, 'build', sink, options);
  await ended;
  return received;
}

function lines(text: string): string[] {
  return text.split('\n').slice(0, -1);
}

function nanos(timestamp: string): bigint {
  const [, , fraction = '0'] = stamped.exec(`${timestamp} x`) ?? [];
  return BigInt(Date.parse(`${timestamp.slice(0, 19)}Z`)) * 1_000_000n + BigInt(fraction);
}

function rfc3339Nano(at: bigint): string {
  const seconds = at / 1_000_000_000n;
  const fraction = (at % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
}

describe('Jobs in the Kubernetes simulator', () => {
  let finishedBuild: { namespace: string; pod: string; log: string };

  it('runs a build Job: its pod goes Pending → Running → Succeeded, the Job completes, the log is followed to its end', async () => {
    await applyNamespace(core, 'builds');
    const created = await batch.createNamespacedJob({ namespace: 'builds', body: job('web-1', buildEnv(goodSha)) });
    const uid = created.metadata?.uid as string;
    expect(created.spec?.selector?.matchLabels).toEqual({ 'batch.kubernetes.io/controller-uid': uid });
    expect(created.spec?.template.metadata?.labels).toMatchObject({ 'job-name': 'web-1', 'controller-uid': uid });
    expect(created.status?.startTime).toBeUndefined();

    const phases: string[] = [];
    let pod = await podOf('builds', 'web-1');
    for (;;) {
      const phase = pod.status?.phase ?? '';
      if (phases.at(-1) !== phase) phases.push(phase);
      if (phase === 'Running') break;
      pod = await podOf('builds', 'web-1');
    }
    expect(['Pending', 'Running']).toEqual(expect.arrayContaining(phases));
    expect(pod.metadata?.labels).toMatchObject({
      'job-name': 'web-1',
      'batch.kubernetes.io/job-name': 'web-1',
      'controller-uid': uid,
      'slipway.dev/build-id': 'web-1',
    });
    expect(pod.metadata?.ownerReferences).toEqual([
      { apiVersion: 'batch/v1', kind: 'Job', name: 'web-1', uid, controller: true, blockOwnerDeletion: true },
    ]);
    const podName = pod.metadata?.name as string;

    const followed = await readLog('builds', podName, { follow: true, timestamps: true });
    const entries = lines(followed).map((line) => stamped.exec(line));
    expect(entries.every(Boolean)).toBe(true);
    const times = entries.map((entry) => nanos(entry?.[1] as string));
    expect(times.every((time, index) => index === 0 || time > (times[index - 1] as bigint))).toBe(true);
    const text = entries.map((entry) => entry?.[3]);
    const digest = `sha256:${createHash('sha256').update(`${image}@${goodSha}`).digest('hex')}`;
    expect(text[0]).toBe(
      '+ git clone --filter=blob:none --no-checkout https://git.example.com/acme/shop.git /workspace',
    );
    expect(text).toContain("Cloning into '/workspace'...");
    expect(text).toContain('#8 [4/6] RUN npm ci');
    expect(text).toContain(`#11 pushing manifest for ${image}@${digest} 0.4s done`);
    expect(text.slice(-2)).toEqual([`slipway.image=${image}@${digest}`, `slipway.image.digest=${digest}`]);

    const done = await finished('builds', 'web-1', 'Complete');
    expect(done.status).toMatchObject({ succeeded: 1, ready: 0 });
    expect(done.status?.active).toBeUndefined();
    expect(Date.parse(String(done.status?.completionTime))).toBeGreaterThanOrEqual(
      Date.parse(String(done.status?.startTime)),
    );
    const ended = await core.readNamespacedPod({ name: podName, namespace: 'builds' });
    expect(ended.status?.phase).toBe('Succeeded');
    expect(ended.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
      message: JSON.stringify({ digest }),
    });

    // A finished pod's log stays readable until the pod goes.
    const log = await readLog('builds', podName);
    expect(log).toBe(`${text.join('\n')}\n`);
    finishedBuild = { namespace: 'builds', pod: podName, log };
  });

  it('reads a finished log with tailLines, limitBytes and sinceSeconds as kubelet does; refuses bad options and unknown pods', async () => {
    const { namespace, pod, log } = finishedBuild;
    expect(await readLog(namespace, pod, { tailLines: 2 })).toBe(`${lines(log).slice(-2).join('\n')}\n`);
    expect(await readLog(namespace, pod, { limitBytes: 100 })).toBe(Buffer.from(log).subarray(0, 100).toString());
    expect(await readLog(namespace, pod, { sinceSeconds: 3600 })).toBe(log);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(await readLog(namespace, pod, { sinceTime: future })).toBe('');
    const tailed = lines(await readLog(namespace, pod, { tailLines: 3, timestamps: true }));
    expect(tailed.map((line) => stamped.exec(line)?.[3])).toEqual(lines(log).slice(-3));

    const refused = (options: LogOptions, name = pod) =>
      failure(new Log(kubeConfig).log(namespace, name, 'build', new PassThrough(), options));
    await expect(refused({ tailLines: -1 })).resolves.toMatchObject({ code: 422 });
    await expect(refused({}, 'no-such-pod')).resolves.toMatchObject({ code: 404 });
  });

  it('resumes a log from its last timestamp: the server counts whole seconds, the client skips what it has', async () => {
    sim.setOptions({ podStartMs: 150 });
    try {
      await batch.createNamespacedJob({ namespace: 'builds', body: job('web-2', buildEnv(goodSha)) });
      const pod = (await runningPod('builds', 'web-2')).metadata?.name as string;
      // What a poller gets mid-build (aborting a followed Log throws an uncaught AbortError in client-node 2.0.1).
      const seen = await eventually(async () => {
        const sofar = lines(await readLog('builds', pod, { timestamps: true }));
        expect(sofar.length).toBeGreaterThanOrEqual(5);
        return sofar;
      });
      expect(seen.at(-1)).not.toMatch(/slipway\.image\.digest=/);
      const last = nanos(stamped.exec(seen.at(-1) as string)?.[1] as string);

      const resumed = lines(
        await readLog('builds', pod, { follow: true, timestamps: true, sinceTime: rfc3339Nano(last + 1n) }),
      );
      const secondStart = (last / 1_000_000_000n) * 1_000_000_000n;
      expect(resumed.every((line) => nanos(stamped.exec(line)?.[1] as string) >= secondStart)).toBe(true);
      // The last line seen comes again: sinceTime lost its fraction on the way to kubelet.
      expect(resumed).toContain(seen.at(-1));
      const fresh = resumed.filter((line) => nanos(stamped.exec(line)?.[1] as string) > last);

      const whole = lines(await readLog('builds', pod, { timestamps: true }));
      expect([...seen, ...fresh]).toEqual(whole);
      expect(whole.at(-1)).toMatch(/ slipway\.image\.digest=sha256:[0-9a-f]{64}$/);
    } finally {
      sim.setOptions({ podStartMs: pace });
    }
  });

  it('fails the Job (BackoffLimitExceeded) when the build fails, and keeps the log; a dead commit fails the clone', async () => {
    const badSha = 'bad0c0ffee0000000000000000000000000000aa';
    await batch.createNamespacedJob({ namespace: 'builds', body: job('web-bad', buildEnv(badSha)) });
    const failed = await finished('builds', 'web-bad', 'Failed');
    expect(failed.status?.conditions?.[0]).toMatchObject({
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    });
    expect(failed.status).toMatchObject({ failed: 1 });
    expect(failed.status?.completionTime).toBeUndefined();
    const pod = await podOf('builds', 'web-bad');
    expect(pod.status?.phase).toBe('Failed');
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    const log = lines(await readLog('builds', pod.metadata?.name as string));
    expect(log.at(-1)).toBe(
      'ERROR: failed to solve: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1',
    );
    expect(log.join('\n')).not.toContain('slipway.image.digest=');

    const deadSha = 'deadbeef00000000000000000000000000000000';
    const clone = job('web-dead', buildEnv(deadSha));
    const container = clone.spec?.template.spec?.containers[0];
    if (container) container.terminationMessagePolicy = 'FallbackToLogsOnError';
    await batch.createNamespacedJob({ namespace: 'builds', body: clone });
    await finished('builds', 'web-dead', 'Failed');
    const deadPod = await podOf('builds', 'web-dead');
    const terminated = deadPod.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated?.exitCode).toBe(128);
    expect(terminated?.message).toContain(`fatal: reference is not a tree: ${deadSha}`);
  });

  it('fails the Job with DeadlineExceeded after activeDeadlineSeconds, deleting its pod and ending its log', async () => {
    // startTime is stored in whole seconds, so a deadline of N seconds fires N-1 to N seconds after the start.
    const hanging = job('web-slow', buildEnv(goodSha), { activeDeadlineSeconds: 2 }, `${builder.split(':')[0]}:hang`);
    await batch.createNamespacedJob({ namespace: 'builds', body: hanging });
    const pod = (await runningPod('builds', 'web-slow')).metadata?.name as string;
    const log = await readLog('builds', pod, { follow: true });
    expect(lines(log).at(-1)).toBe('#11 pushing layers');
    const failed = await finished('builds', 'web-slow', 'Failed');
    expect(failed.status?.conditions?.[0]).toMatchObject({
      reason: 'DeadlineExceeded',
      message: 'Job was active longer than specified deadline',
    });
    expect(failed.status).toMatchObject({ failed: 1 });
    const pods = await core.listNamespacedPod({ namespace: 'builds', labelSelector: 'job-name=web-slow' });
    expect(pods.items).toEqual([]);
  });

  it('keeps a container in CreateContainerConfigError until the Secret it reads exists; the builder echoes REGISTRY_PASSWORD', async () => {
    await applyNamespace(core, 'secrets');
    const password = { name: 'REGISTRY_PASSWORD', valueFrom: { secretKeyRef: { name: 'registry', key: 'password' } } };
    await batch.createNamespacedJob({ namespace: 'secrets', body: job('web-3', buildEnv(goodSha, [password])) });
    const waiting = await eventually(async () => {
      const pod = await podOf('secrets', 'web-3');
      expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('CreateContainerConfigError');
      return pod;
    });
    expect(waiting.status?.containerStatuses?.[0]?.state?.waiting?.message).toBe('secret "registry" not found');
    const name = waiting.metadata?.name as string;
    await expect(failure(new Log(kubeConfig).log('secrets', name, 'build', new PassThrough()))).resolves.toEqual({
      code: 400,
      reason: undefined,
    });

    await core.createNamespacedSecret({
      namespace: 'secrets',
      body: { metadata: { name: 'registry' }, stringData: { password: 's3cr3t-value' } },
    });
    await finished('secrets', 'web-3', 'Complete');
    expect(await readLog('secrets', name)).toContain('+ crane auth login registry.local -u slipway -p s3cr3t-value\n');
  });

  it('stores a Secret as kube-apiserver does: stringData becomes base64 data; bad base64 is refused', async () => {
    const created = await core.createNamespacedSecret({
      namespace: 'secrets',
      body: { metadata: { name: 'git' }, stringData: { token: 'ghp_x' }, data: { user: 'Ym90' } },
    });
    expect(created).toMatchObject({ type: 'Opaque', data: { token: 'Z2hwX3g=', user: 'Ym90' } });
    expect(created.stringData).toBeUndefined();
    expect((await core.readNamespacedSecret({ name: 'git', namespace: 'secrets' })).data).toEqual(created.data);
    const bad = core.createNamespacedSecret({
      namespace: 'secrets',
      body: { metadata: { name: 'bad' }, data: { token: 'not base64!' } },
    });
    expect(await failure(bad)).toEqual({ code: 400, reason: 'BadRequest' });
    await core.deleteNamespacedSecret({ name: 'git', namespace: 'secrets' });
    expect(await failure(core.readNamespacedSecret({ name: 'git', namespace: 'secrets' }))).toEqual({
      code: 404,
      reason: 'NotFound',
    });
  });

  describe('deleting', () => {
    /** A quick Job (a plain image exits 0 one pace after starting) and a Secret it owns. */
    async function jobWithSecret(namespace: string, name: string, spec: Partial<V1JobSpec> = {}) {
      const created = await batch.createNamespacedJob({ namespace, body: job(name, [], spec, 'busybox:1.36') });
      const owner = { apiVersion: 'batch/v1', kind: 'Job', name, uid: created.metadata?.uid as string };
      await core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: `${name}-credentials`, ownerReferences: [owner] }, stringData: { token: 't' } },
      });
      const pod = await podOf(namespace, name);
      return { pod: pod.metadata?.name as string };
    }

    const gone = async (read: Promise<unknown>) => expect(await failure(read)).toMatchObject({ code: 404 });

    it('ttlSecondsAfterFinished deletes the finished Job, its pod and the Secret it owns', async () => {
      await applyNamespace(core, 'ttl');
      const { pod } = await jobWithSecret('ttl', 'once', { ttlSecondsAfterFinished: 1 });
      await finished('ttl', 'once', 'Complete');
      await eventually(async () => {
        await gone(batch.readNamespacedJob({ name: 'once', namespace: 'ttl' }));
        await gone(core.readNamespacedPod({ name: pod, namespace: 'ttl' }));
        await gone(core.readNamespacedSecret({ name: 'once-credentials', namespace: 'ttl' }));
      });
    });

    it('Background and Foreground take the pods and Secrets with the Job; no policy orphans them, as batch/v1 does', async () => {
      await applyNamespace(core, 'cascade');
      const background = await jobWithSecret('cascade', 'bg');
      await batch.deleteNamespacedJob({ name: 'bg', namespace: 'cascade', propagationPolicy: 'Background' });
      await gone(batch.readNamespacedJob({ name: 'bg', namespace: 'cascade' }));
      await eventually(async () => {
        await gone(core.readNamespacedPod({ name: background.pod, namespace: 'cascade' }));
        await gone(core.readNamespacedSecret({ name: 'bg-credentials', namespace: 'cascade' }));
      });

      const foreground = await jobWithSecret('cascade', 'fg');
      await batch.deleteNamespacedJob({ name: 'fg', namespace: 'cascade', propagationPolicy: 'Foreground' });
      await gone(core.readNamespacedPod({ name: foreground.pod, namespace: 'cascade' }));
      await gone(core.readNamespacedSecret({ name: 'fg-credentials', namespace: 'cascade' }));
      await gone(batch.readNamespacedJob({ name: 'fg', namespace: 'cascade' }));

      const orphaned = await jobWithSecret('cascade', 'orphan');
      await batch.deleteNamespacedJob({ name: 'orphan', namespace: 'cascade' });
      await gone(batch.readNamespacedJob({ name: 'orphan', namespace: 'cascade' }));
      const pod = await core.readNamespacedPod({ name: orphaned.pod, namespace: 'cascade' });
      expect(pod.metadata?.ownerReferences).toBeUndefined();
      const secret = await core.readNamespacedSecret({ name: 'orphan-credentials', namespace: 'cascade' });
      expect(secret.metadata?.ownerReferences).toBeUndefined();
    });
  });

  it('applies a Job server-side, lists it by label, watches it complete; refuses a changed template and restartPolicy Always', async () => {
    await applyNamespace(core, 'applied');
    const seen: string[] = [];
    let completed!: () => void;
    const complete = new Promise<void>((resolve) => {
      completed = resolve;
    });
    const watch = await new Watch(kubeConfig).watch(
      '/apis/batch/v1/namespaces/applied/jobs',
      {},
      (type, object: V1Job) => {
        seen.push(type);
        if (object.status?.conditions?.some((c) => c.type === 'Complete')) completed();
      },
      () => {},
    );
    const body = job('web-4', buildEnv(goodSha));
    body.metadata = { ...body.metadata, namespace: 'applied' };
    const apply = (manifest: V1Job) =>
      batch.patchNamespacedJob(
        { name: 'web-4', namespace: 'applied', body: manifest, fieldManager, force: true },
        serverSideApply,
      );
    const applied = await apply(body);
    expect(applied.metadata?.managedFields?.[0]).toMatchObject({ manager: fieldManager, operation: 'Apply' });
    await complete;
    watch.abort();
    expect(seen[0]).toBe('ADDED');
    expect(seen).toContain('MODIFIED');
    const listed = await batch.listNamespacedJob({ namespace: 'applied', labelSelector: 'slipway.dev/build-id=web-4' });
    expect(listed.items.map((j) => j.metadata?.name)).toEqual(['web-4']);
    expect((await apply(body)).metadata?.generation).toBe(1);

    const changed = structuredClone(body);
    const container = changed.spec?.template.spec?.containers[0];
    if (container) container.image = `${builder.split(':')[0]}:v2`;
    expect(await failure(apply(changed))).toEqual({ code: 422, reason: 'Invalid' });
    const always = job('web-5', buildEnv(goodSha));
    if (always.spec?.template.spec) always.spec.template.spec.restartPolicy = 'Always';
    expect(await failure(batch.createNamespacedJob({ namespace: 'applied', body: always }))).toEqual({
      code: 422,
      reason: 'Invalid',
    });
  });
});
