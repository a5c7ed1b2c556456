/**
 * The build workflow's steps (statemachines/build.asl.json, functions/builder): start the Job on the
 * build cluster, collect its log and watch it end, record how it ended. Also how a build ends when
 * its workflow was stopped (functions/build-watch). Every line stored is masked with the secrets
 * the build was given; Slipway's own lines start with `[slipway]`.
 */
import { config } from '../config.ts';
import { describeFailure } from '../delivery/step.ts';
import type { ClusterTarget } from '../domain/cluster.ts';
import {
  BUILDER_IMAGE,
  type BuildJobSpec,
  deleteBuildJob,
  type JobReading,
  jobName,
  readBuildJob,
  readBuildLog,
  readBuildSecrets,
  renderBuildJob,
  startBuildJob,
} from '../k8s/build-job.ts';
import { logger } from '../logger.ts';
import { keys } from '../store/keys.ts';
import { getMany, type Item } from '../store/table.ts';
import { buildCredentials, gitUser, registryHost, secretsToMask } from './credentials.ts';
import { appendLog } from './log.ts';
import { type LogCursor, masker, newLines, platformLine as say, sinceTime } from './log-lines.ts';
import { FINAL_STATES } from './model.ts';
import { type Build, BuildFinished, BuildNotFound, loadBuild } from './progress.ts';

/** Most of the pod's log one collect reads; more waits for the next (which comes at once). */
export const READ_LIMIT_BYTES = 1024 * 1024;

/** Polls: every 2 s while a build is young (its first lines matter most), then every 4 s. */
export const collectWaitSeconds = (attempt: number) => (attempt < 15 ? 2 : 4);

/** Creates the build's Job and Secret on its cluster and marks it running. */
export async function startBuild(buildId: string): Promise<{ attempt: number; wait_seconds: number }> {
  const build = await loadBuild(buildId);
  if (FINAL_STATES.has(build.state)) throw new BuildFinished(`Build ${buildId} has already ended (${build.state})`);
  const { app, cluster } = await placementOf(build);
  const credentials = await buildCredentials(app.image_repository, app.repository);
  const namespace = config.buildNamespace;
  const spec: BuildJobSpec = {
    buildId,
    appId: build.app_id,
    namespace,
    builderImage: config.buildImage ?? BUILDER_IMAGE,
    repositoryUrl: app.repository.url,
    sha: build.commit.sha,
    image: build.image,
    imageRepository: app.image_repository,
    registryHost: registryHost(app.image_repository),
    context: build.context,
    dockerfile: build.dockerfile,
    buildArgs: build.build_args,
    target: build.target,
    cache: build.cache,
    gitUsername: credentials.git?.username,
  };
  await startBuildJob(cluster, renderBuildJob(spec), {
    registry: credentials.registry,
    git: credentials.git,
  });
  // A retried start finds the build running already: the Job is the same one, its lines are written.
  if (build.state === 'queued') {
    const lines = [
      say(`building ${build.commit.sha} (${build.commit.ref}) of ${app.repository.url} into ${build.image}`),
      say(`Job ${namespace}/${jobName(buildId)} on cluster ${cluster.name}, with ${BUILDER_NAME(spec.builderImage)}`),
      credentials.registry
        ? say(`pushing as ${credentials.registry.username} (secret ${credentials.registrySecret})`)
        : say(`no registry credentials in secret ${credentials.registrySecret}: pushing without`),
      ...(credentials.git ? [say(`fetching with the token in secret ${credentials.gitSecret}`)] : []),
    ];
    await appendLog(build, lines.join(''), undefined, {
      set: { state: 'running', job: { namespace, name: jobName(buildId) }, started_at: new Date().toISOString() },
      event: 'Build Started',
    });
  }
  return { attempt: 0, wait_seconds: collectWaitSeconds(0) };
}

const BUILDER_NAME = (image: string) => image.split('/').at(-1) ?? image;

export interface Collected {
  phase: 'running' | 'succeeded' | 'failed';
  reason?: string;
  digest?: string;
  attempt: number;
  wait_seconds: number;
}

/**
 * Reads where the Job stands, then the lines its pod wrote since the last collect (after the
 * status, so a Job seen finished has all its lines there), masks and stores them. Ends only when
 * the whole log is stored.
 */
export async function collectBuild(buildId: string, attempt: number): Promise<Collected> {
  const build = await loadBuild(buildId);
  const next = { attempt: attempt + 1, wait_seconds: collectWaitSeconds(attempt + 1) };
  if (FINAL_STATES.has(build.state))
    return { phase: 'failed', reason: `the build has ended (${build.state})`, ...next };
  const job = build.job as { namespace: string; name: string } | undefined;
  if (!job) return { phase: 'failed', reason: 'the build never started', ...next };
  const { app, cluster } = await placementOf(build);
  const reading = await readBuildJob(cluster, job.namespace, job.name);
  let more = false;
  const pod = reading.pod;
  if (pod && reading.started) {
    const cursor = build._log_cursor as LogCursor | undefined;
    const body = await readBuildLog(cluster, job.namespace, pod, sinceTime(cursor), READ_LIMIT_BYTES);
    const lines = newLines(body, cursor, READ_LIMIT_BYTES);
    more = lines.more;
    if (lines.text) {
      const mask = masker(await secretsOf(build, app, cluster));
      // Someone else stored lines first (a retried step): the next collect reads from their cursor.
      if (!(await appendLog(build, mask(lines.text), lines.cursor))) more = true;
    }
  } else if (reading.phase === 'pending' && reading.waiting && reading.waiting.reason !== build._waiting) {
    const why = [reading.waiting.reason, reading.waiting.message].filter(Boolean).join(': ');
    await appendLog(build, say(`waiting for the pod: ${why}`), build._log_cursor as LogCursor | undefined, {
      set: { _waiting: reading.waiting.reason },
    });
  }
  return { ...outcome(reading, more), ...next };
}

function outcome(reading: JobReading, more: boolean): Pick<Collected, 'phase' | 'reason' | 'digest'> {
  if (reading.phase === 'gone') return { phase: 'failed', reason: 'its Job is gone from the cluster' };
  if (more || reading.phase === 'pending' || reading.phase === 'running') return { phase: 'running' };
  if (reading.phase === 'failed') return { phase: 'failed', reason: reading.reason ?? "the build's Job failed" };
  if (!reading.digest) return { phase: 'failed', reason: 'the build finished without reporting the pushed digest' };
  return { phase: 'succeeded', digest: reading.digest };
}

/** Records the pushed digest; the Job has done its work and goes (its log is stored). */
export async function recordBuildSuccess(
  buildId: string,
  digest: string,
): Promise<{ build_id: string; image: string; digest: string }> {
  const build = await loadBuild(buildId);
  if (build.state === 'succeeded') return { build_id: buildId, image: build.image, digest: build.digest as string };
  const done = await appendLog(build, say(`pushed ${build.image}@${digest}`), build._log_cursor as LogCursor, {
    set: { state: 'succeeded', digest },
    event: 'Build Succeeded',
  });
  if (!done) throw new BuildFinished(`Build ${buildId} ended otherwise meanwhile`);
  await removeJob(build);
  return { build_id: buildId, image: build.image, digest };
}

/** Records why the build failed (in its state and its log) and deletes its Job. */
export async function recordBuildFailure(buildId: string, error: unknown): Promise<{ reason: string }> {
  const build = await loadBuild(buildId).catch((e: unknown) => {
    if (e instanceof BuildNotFound) return undefined;
    throw e;
  });
  if (!build) return { reason: 'no such build' };
  const reason = failureReason(error);
  if (!FINAL_STATES.has(build.state)) {
    await appendLog(build, say(`build failed: ${reason}`), build._log_cursor as LogCursor, {
      set: { state: 'failed', reason },
      event: 'Build Failed',
    });
  }
  await removeJob(build);
  return { reason: (build.reason as string | undefined) ?? reason };
}

/** A BuildFailed pass carries our own words as its cause; any other error says its name too. */
function failureReason(error: unknown): string {
  const { Error: name, Cause: cause } = (error ?? {}) as { Error?: string; Cause?: string };
  if (name === 'BuildFailed' && cause) return cause.slice(0, 1000);
  return describeFailure(error);
}

/**
 * Step Functions stopped or timed out the build's execution (a pipeline run cancelled, a timeout),
 * so no Catch ran: end the build (`cancelled` when stopped) and delete its Job.
 */
export async function endAbandonedBuild(buildId: string, status: string, cause: string | undefined): Promise<boolean> {
  const build = await loadBuild(buildId).catch((e: unknown) => {
    if (e instanceof BuildNotFound) return undefined;
    throw e;
  });
  if (!build) return false;
  const cancelled = status === 'ABORTED';
  const reason = cancelled
    ? `the build was stopped${cause ? `: ${cause}` : ''}`
    : `the build workflow ended ${status}${cause ? `: ${cause}` : ''}`;
  if (!FINAL_STATES.has(build.state)) {
    await appendLog(build, say(reason), build._log_cursor as LogCursor | undefined, {
      set: { state: cancelled ? 'cancelled' : 'failed', reason },
      event: cancelled ? 'Build Cancelled' : 'Build Failed',
    });
  }
  await removeJob(build);
  return true;
}

/** The Job goes when the build ends; a cluster that does not answer now leaves it to its TTL. */
async function removeJob(build: Build): Promise<void> {
  const job = build.job as { namespace: string } | undefined;
  if (!job) return;
  try {
    const { cluster } = await placementOf(build);
    await deleteBuildJob(cluster, job.namespace, build.id);
  } catch (error) {
    logger.warn('The build Job could not be deleted; Kubernetes deletes it after its TTL', {
      build_id: build.id,
      error,
    });
  }
}

/**
 * What to mask: the values in the build's own Secret (exactly what it was given), cached while it
 * runs; once that Secret is gone, what Secrets Manager holds.
 */
const maskCache = new Map<string, string[]>();
async function secretsOf(build: Build, app: App, cluster: ClusterTarget): Promise<string[]> {
  const cached = maskCache.get(build.id);
  if (cached) return cached;
  const job = build.job as { namespace: string };
  const given = await readBuildSecrets(cluster, job.namespace, build.id);
  const secrets = given
    ? secretsToMask({
        ...(given.REGISTRY_PASSWORD
          ? { registry: { host: '', username: given.REGISTRY_USERNAME ?? '', password: given.REGISTRY_PASSWORD } }
          : {}),
        ...(given.GIT_TOKEN ? { git: { username: gitUser(app.repository.provider), token: given.GIT_TOKEN } } : {}),
      })
    : secretsToMask(await buildCredentials(app.image_repository, app.repository));
  if (maskCache.size > 100) maskCache.clear();
  maskCache.set(build.id, secrets);
  return secrets;
}

interface App extends Item {
  image_repository: string;
  repository: { url: string; provider: string };
}

/** The build's application and build cluster. */
async function placementOf(build: Build): Promise<{ app: App; cluster: ClusterTarget }> {
  const [app, cluster] = await getMany([keys.app(build.app_id), keys.cluster(build.cluster_id)]);
  if (!app) throw new BuildNotFound(`The application of build ${build.id} no longer exists`);
  if (!cluster) throw new BuildNotFound(`The build cluster ${build.cluster_id} is no longer registered`);
  return { app: app as App, cluster: cluster as ClusterTarget };
}
