/**
 * A build as Kubernetes runs it (ADR 18): one Job on the build cluster whose one container, rootless
 * BuildKit, fetches the exact commit and pushes `<image_repository>:<sha>`, reporting the digest as
 * its termination message. Its credentials sit in a Secret owned by the Job, so they go with it.
 * The Job is created suspended, the Secret next (it needs the Job's uid), then the Job is resumed:
 * its pod never starts without them. Cluster errors keep the names the workflow's Retry/Catch match.
 */
import { posix } from 'node:path';
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  Observable,
  type ObservableMiddleware,
  PatchStrategy,
  setHeaderOptions,
  type V1Job,
  type V1Pod,
  type V1Secret,
} from '@kubernetes/client-node';
import type { ClusterTarget } from '../domain/cluster.ts';
import { createNamespace, requestOptions, withCluster } from './cluster-client.ts';
import { clusterText } from './cluster-text.ts';
import { MANAGED_BY_LABEL } from './workload.ts';

/** Pinned: a build is reproducible only with the same builder. Override with SLIPWAY_BUILD_IMAGE (a mirror). */
export const BUILDER_IMAGE = 'moby/buildkit:v0.31.2-rootless';
export const BUILD_CONTAINER = 'build';
/** A build running longer is stopped by Kubernetes itself (Job condition DeadlineExceeded). */
export const BUILD_DEADLINE_SECONDS = 30 * 60;
/** A finished Job (and its Secret, by its owner reference) is deleted by Kubernetes after this, if Slipway did not. */
export const FINISHED_JOB_TTL_SECONDS = 60 * 60;

const HOME = '/home/user';
const SOURCE = `${HOME}/src`;

export interface BuildJobSpec {
  buildId: string;
  appId: string;
  namespace: string;
  builderImage: string;
  repositoryUrl: string;
  sha: string;
  /** `<image_repository>:<sha>` */
  image: string;
  imageRepository: string;
  registryHost: string;
  context: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  target?: string | undefined;
  cache: boolean;
  gitUsername?: string | undefined;
}

/** `bld_01h…` → `build-01h…`: Job names are DNS labels (no `_`). */
export const jobName = (buildId: string) => `build-${buildId.replace(/^bld_/, '')}`;
export const secretName = (buildId: string) => `${jobName(buildId)}-credentials`;

const labelsOf = (spec: Pick<BuildJobSpec, 'buildId' | 'appId'>) => ({
  [MANAGED_BY_LABEL]: 'slipway',
  'slipway.dev/build-id': spec.buildId,
  'slipway.dev/app-id': spec.appId,
});

/**
 * The container's program: fetch exactly the commit (with the token as a basic-auth header when
 * there is one), write the registry login where BuildKit reads it, build and push, then write
 * `{"digest": …}` as the termination message. A failure's last line says why (the kubelet takes
 * the log's end as the message: FallbackToLogsOnError). The buildctl arguments come as "$@".
 */
const SCRIPT = `set -eu
fail() { printf '%s\\n' "$1" >&2; exit "$2"; }
echo "+ git fetch --depth 1 $GIT_URL $GIT_SHA"
git init -q ${SOURCE} && cd ${SOURCE}
if [ -n "\${GIT_TOKEN:-}" ]; then
  git config http.extraHeader "Authorization: Basic $(printf '%s:%s' "$GIT_USERNAME" "$GIT_TOKEN" | base64 | tr -d '\\n')"
fi
git fetch -q --depth 1 "$GIT_URL" "$GIT_SHA" || fail "commit $GIT_SHA could not be fetched from $GIT_URL: it is not there, or the repository cannot be read" 128
git checkout -q --detach FETCH_HEAD
if [ -n "\${REGISTRY_PASSWORD:-}" ]; then
  mkdir -p "$DOCKER_CONFIG"
  printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_AUTH_KEY" "$(printf '%s:%s' "$REGISTRY_USERNAME" "$REGISTRY_PASSWORD" | base64 | tr -d '\\n')" > "$DOCKER_CONFIG/config.json"
fi
buildctl-daemonless.sh build --progress plain "$@" --metadata-file /tmp/metadata.json
digest=$(sed -n 's/.*"containerimage.digest": *"\\(sha256:[0-9a-f]\\{64\\}\\)".*/\\1/p' /tmp/metadata.json)
[ -n "$digest" ] || fail "the build pushed no image digest" 1
echo "pushed $IMAGE@$digest"
printf '{"digest":"%s"}' "$digest" > /dev/termination-log
`;

/** buildctl's arguments: the context and Dockerfile inside the checkout, the options, the push. */
export function buildctlArguments(spec: BuildJobSpec): string[] {
  const context = posix.join(SOURCE, spec.context);
  const dockerfile = posix.join(context, spec.dockerfile);
  const cacheRef = `${spec.imageRepository}:buildcache`;
  return [
    '--frontend',
    'dockerfile.v0',
    '--local',
    `context=${context}`,
    '--local',
    `dockerfile=${posix.dirname(dockerfile)}`,
    '--opt',
    `filename=${posix.basename(dockerfile)}`,
    ...(spec.target ? ['--opt', `target=${spec.target}`] : []),
    ...Object.entries(spec.buildArgs).flatMap(([name, value]) => ['--opt', `build-arg:${name}=${value}`]),
    '--output',
    `type=image,name=${spec.image},push=true`,
    ...(spec.cache
      ? ['--export-cache', `type=registry,ref=${cacheRef},mode=max`, '--import-cache', `type=registry,ref=${cacheRef}`]
      : ['--no-cache']),
  ];
}

/** The Job, created suspended: `resumeBuildJob` starts it once its Secret exists. */
export function renderBuildJob(spec: BuildJobSpec): V1Job {
  const labels = labelsOf(spec);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName(spec.buildId), namespace: spec.namespace, labels },
    spec: {
      suspend: true,
      // One attempt: a failed build is reported, not silently run again.
      backoffLimit: 0,
      activeDeadlineSeconds: BUILD_DEADLINE_SECONDS,
      ttlSecondsAfterFinished: FINISHED_JOB_TTL_SECONDS,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [
            {
              name: BUILD_CONTAINER,
              image: spec.builderImage,
              command: ['/bin/sh', '-c', SCRIPT, 'slipway-build', ...buildctlArguments(spec)],
              env: [
                { name: 'GIT_URL', value: spec.repositoryUrl },
                { name: 'GIT_SHA', value: spec.sha },
                { name: 'GIT_USERNAME', value: spec.gitUsername ?? '' },
                { name: 'IMAGE', value: spec.image },
                {
                  name: 'REGISTRY_AUTH_KEY',
                  value: spec.registryHost === 'docker.io' ? 'https://index.docker.io/v1/' : spec.registryHost,
                },
                { name: 'DOCKER_CONFIG', value: `${HOME}/.docker` },
                // Rootless BuildKit in an unprivileged pod (moby/buildkit docs/rootless.md).
                { name: 'BUILDKITD_FLAGS', value: '--oci-worker-no-process-sandbox' },
              ],
              envFrom: [{ secretRef: { name: secretName(spec.buildId) } }],
              resources: {
                requests: { cpu: '1', memory: '2Gi', 'ephemeral-storage': '4Gi' },
                limits: { cpu: '2', memory: '4Gi', 'ephemeral-storage': '20Gi' },
              },
              securityContext: {
                runAsUser: 1000,
                runAsGroup: 1000,
                runAsNonRoot: true,
                seccompProfile: { type: 'Unconfined' },
                appArmorProfile: { type: 'Unconfined' },
              },
              terminationMessagePolicy: 'FallbackToLogsOnError',
              volumeMounts: [{ name: 'buildkit', mountPath: `${HOME}/.local/share/buildkit` }],
            },
          ],
          volumes: [{ name: 'buildkit', emptyDir: {} }],
        },
      },
    },
  };
}

export interface BuildSecrets {
  registry?: { username: string; password: string } | undefined;
  git?: { token: string } | undefined;
}

/** The credentials as the container's environment; owned by the Job, so deleting it deletes them. */
export function renderBuildSecret(
  spec: Pick<BuildJobSpec, 'buildId' | 'appId' | 'namespace'>,
  secrets: BuildSecrets,
  owner: { name: string; uid: string },
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: secretName(spec.buildId),
      namespace: spec.namespace,
      labels: labelsOf(spec),
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: owner.name, uid: owner.uid }],
    },
    stringData: {
      ...(secrets.registry
        ? { REGISTRY_USERNAME: secrets.registry.username, REGISTRY_PASSWORD: secrets.registry.password }
        : {}),
      ...(secrets.git ? { GIT_TOKEN: secrets.git.token } : {}),
    },
  };
}

/**
 * Creates the Job (suspended), its Secret, and resumes it. Each part tolerates having been done
 * already, so a retried step finishes what an earlier attempt began.
 */
export async function startBuildJob(cluster: ClusterTarget, job: V1Job, secrets: BuildSecrets): Promise<void> {
  const { name, namespace } = job.metadata as { name: string; namespace: string };
  await withCluster(cluster, async (api) => {
    const batch = api(BatchV1Api);
    const core = api(CoreV1Api);
    const create = () => batch.createNamespacedJob({ namespace, body: job }, requestOptions);
    const created = await create().catch(async (error: unknown) => {
      if (isStatus(error, 404)) {
        await createNamespace(core, namespace);
        return create();
      }
      if (isStatus(error, 409)) return batch.readNamespacedJob({ name, namespace }, requestOptions);
      throw error;
    });
    const uid = created.metadata?.uid;
    if (!uid) throw new Error(`Job ${namespace}/${name} has no uid`);
    const body = renderBuildSecret(specOf(job), secrets, { name, uid });
    const secret = body.metadata?.name as string;
    await core.createNamespacedSecret({ namespace, body }, requestOptions).catch((error: unknown) => {
      if (!isStatus(error, 409)) throw error;
      return core.replaceNamespacedSecret({ name: secret, namespace, body }, requestOptions);
    });
    await batch.patchNamespacedJob({ name, namespace, body: { spec: { suspend: false } } }, mergePatch);
  });
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch, requestOptions);

function specOf(job: V1Job): Pick<BuildJobSpec, 'buildId' | 'appId' | 'namespace'> {
  const labels = job.metadata?.labels ?? {};
  return {
    buildId: labels['slipway.dev/build-id'] ?? '',
    appId: labels['slipway.dev/app-id'] ?? '',
    namespace: job.metadata?.namespace ?? '',
  };
}

/** Where a build's Job stands, as the collect step needs it. */
export interface JobReading {
  phase: 'pending' | 'running' | 'succeeded' | 'failed' | 'gone';
  /** Its newest pod, and whether the build container has started there (it has a log). */
  pod?: string;
  started: boolean;
  /** Why a pending pod waits (ImagePullBackOff, CreateContainerConfigError…). */
  waiting?: { reason: string; message?: string };
  digest?: string;
  /** Why it failed, in a sentence. */
  reason?: string;
}

/** The Job and its newest pod: how far it got, and (once ended) its digest or why it failed. */
export async function readBuildJob(cluster: ClusterTarget, namespace: string, name: string): Promise<JobReading> {
  return withCluster(cluster, async (api) => {
    const job = await api(BatchV1Api)
      .readNamespacedJob({ name, namespace }, requestOptions)
      .catch((error: unknown) => {
        if (isStatus(error, 404)) return undefined;
        throw error;
      });
    if (!job) return { phase: 'gone', started: false };
    const pods = await api(CoreV1Api).listNamespacedPod(
      { namespace, labelSelector: `batch.kubernetes.io/job-name=${name}` },
      requestOptions,
    );
    return jobReading(job, newest(pods.items));
  });
}

/** Pure, for tests: the Job's conditions decide the end; the pod's container says the rest. */
export function jobReading(job: V1Job, pod: V1Pod | undefined): JobReading {
  const podName = pod?.metadata?.name;
  const container = pod?.status?.containerStatuses?.find((status) => status.name === BUILD_CONTAINER);
  const terminated = container?.state?.terminated;
  const condition = (type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
  const complete = condition('Complete') ?? (job.status?.succeeded ? {} : undefined);
  const failed = condition('Failed') ?? (job.status?.failed ? {} : undefined);
  const started = Boolean(container?.state?.running || terminated);
  const at = { ...(podName ? { pod: podName } : {}), started };
  if (complete) {
    const digest = digestOf(terminated?.message);
    return { phase: 'succeeded', ...at, ...(digest ? { digest } : {}) };
  }
  if (failed) return { phase: 'failed', ...at, reason: failureOf(failed, terminated) };
  if (started) return { phase: 'running', ...at };
  const waiting = container?.state?.waiting;
  return {
    phase: 'pending',
    ...at,
    ...(waiting?.reason
      ? { waiting: { reason: waiting.reason, ...(waiting.message ? { message: clusterText(waiting.message) } : {}) } }
      : {}),
  };
}

function digestOf(message: string | undefined): string | undefined {
  try {
    const digest = (JSON.parse(message ?? '') as { digest?: unknown }).digest;
    return typeof digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined;
  } catch {
    return undefined;
  }
}

function failureOf(
  condition: { reason?: string | undefined; message?: string | undefined },
  terminated: { exitCode?: number; message?: string } | undefined,
): string {
  if (condition.reason === 'DeadlineExceeded') {
    return `the build ran longer than its deadline (${BUILD_DEADLINE_SECONDS / 60} min) and was stopped`;
  }
  if (terminated && terminated.exitCode !== 0) {
    const last = (terminated.message ?? '')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .at(-1);
    return `the build exited with code ${terminated.exitCode}${last ? `: ${clusterText(last)}` : ''}`;
  }
  const said = [condition.reason, condition.message].filter(Boolean).join(': ');
  return `the build's Job failed${said ? ` (${clusterText(said)})` : ''}`;
}

function newest(pods: V1Pod[]): V1Pod | undefined {
  const created = (pod: V1Pod) => new Date(pod.metadata?.creationTimestamp ?? 0).getTime();
  return [...pods].sort((a, b) => created(b) - created(a))[0];
}

/**
 * The build container's log with each line's timestamp, from `sinceTime` (RFC 3339; the API server
 * counts whole seconds), at most `limitBytes`. The generated client has no `sinceTime` parameter,
 * so a middleware adds it to the query: the request still goes through the same guarded dispatcher,
 * timeout and error classification as every other cluster call (ADR 13, ADR 18).
 */
export async function readBuildLog(
  cluster: ClusterTarget,
  namespace: string,
  pod: string,
  sinceTime: string | undefined,
  limitBytes: number,
): Promise<string> {
  const since: ObservableMiddleware = {
    pre: (context) => {
      if (sinceTime) context.setQueryParam('sinceTime', sinceTime);
      return new Observable(Promise.resolve(context));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  const options = { ...requestOptions, middleware: [...(requestOptions.middleware ?? []), since] };
  return withCluster(cluster, (api) =>
    api(CoreV1Api).readNamespacedPodLog(
      { name: pod, namespace, container: BUILD_CONTAINER, timestamps: true, limitBytes },
      options,
    ),
  );
}

/** The values the build was given (its Secret), for masking; undefined once the Secret is gone. */
export async function readBuildSecrets(
  cluster: ClusterTarget,
  namespace: string,
  buildId: string,
): Promise<Record<string, string> | undefined> {
  return withCluster(cluster, async (api) => {
    const secret = await api(CoreV1Api)
      .readNamespacedSecret({ name: secretName(buildId), namespace }, requestOptions)
      .catch((error: unknown) => {
        if (isStatus(error, 404)) return undefined;
        throw error;
      });
    if (!secret) return undefined;
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
    );
  });
}

/** Deletes the Job, its pod and its Secret (in the background, as `kubectl delete job` does); gone already is fine. */
export async function deleteBuildJob(cluster: ClusterTarget, namespace: string, buildId: string): Promise<void> {
  await withCluster(cluster, async (api) => {
    const ignoreGone = (error: unknown) => {
      if (!isStatus(error, 404)) throw error;
    };
    await api(BatchV1Api)
      .deleteNamespacedJob({ name: jobName(buildId), namespace, propagationPolicy: 'Background' }, requestOptions)
      .catch(ignoreGone);
    // Its owner reference would take it along; deleting it now does not wait for the garbage collector.
    await api(CoreV1Api)
      .deleteNamespacedSecret({ name: secretName(buildId), namespace }, requestOptions)
      .catch(ignoreGone);
  });
}

const isStatus = (error: unknown, code: number) => error instanceof ApiException && error.code === code;
