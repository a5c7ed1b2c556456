/**
 * The steps of the pipeline workflow (statemachines/pipeline.asl.json), acting for the person who
 * started the run, with their rights at the moment of each step:
 *
 * - `takeTurn`: the concurrency policy on the run's lane (pipeline and ref): under `queue` a run
 *   waits while an older one is in progress; under `cancel_in_progress` it cancels the older ones.
 * - `startBuild`: the build record, through the builds' own use case; the workflow then runs the
 *   build machine as a nested execution named after it.
 * - `nextStage`: records the stage that just succeeded and starts the next deploy stage: a
 *   deployment recorded exactly as `POST /deployments` records one, of the build's digest, whose
 *   deploy machine the workflow runs nested. No stage left: the run has succeeded.
 * - `failRun`: the stage running (or the one that could not start) failed, and with it the run.
 *
 * A step whose Lambda is retried finds the stage it started and answers it again; a step that lost
 * a race with a cancel fails as `Transient` (retried) and then finds the run ended.
 */
import { callerFor } from '../auth/principal.ts';
import { requestDeployment } from '../delivery/deployments.ts';
import { FINAL_STATES } from '../delivery/model.ts';
import { loadDeployment } from '../delivery/progress.ts';
import { describeFailure } from '../delivery/step.ts';
import type { RunStage } from '../domain/run.ts';
import { Meter, type Metering } from '../quotas/meter.ts';
import { commit, getMany, type Item, queryAll } from '../store/table.ts';
import { requestBuild } from './build-stage.ts';
import { pipelineKeys } from './keys.ts';
import { isFinal, type RunItem } from './model.ts';
import {
  ended,
  loadActiveRun,
  moveRun,
  requesterOf,
  runMoved,
  runMoveWrites,
  stagesWith,
  started,
} from './progress.ts';
import { endCancelled } from './runs.ts';

/** A stage that did not succeed; the workflow catches it and records the run's failure. */
export class StageFailed extends Error {
  override name = 'StageFailed';
}

/** What the build machine answers (its output, through `.sync:2`). */
export interface BuildOutput {
  build_id?: string;
  image?: string;
  digest?: string;
}

const deployQuota: Metering = (policy, partition) => new Meter(policy, partition);

const actingFor = (run: RunItem) => callerFor(run.requested_by, run._request_id as string | undefined);

/** Whether the run may start now; `false`: an older run on its ref is in progress (queue policy). */
export async function takeTurn(runId: string): Promise<{ proceed: boolean; behind?: string }> {
  const run = await loadActiveRun(runId);
  if (run.state === 'running') return { proceed: true };
  const lane = await queryAll({ partition: pipelineKeys.lane(run.pipeline_id, run.commit.ref), consistent: true });
  const older = lane.map((entry) => entry.SK as string).filter((id) => id < run.id);
  const inProgress = (await getMany(older.map((id) => pipelineKeys.run(id)))).filter(
    (r): r is Item => r !== undefined && !isFinal(r as RunItem),
  );
  if (inProgress.length > 0) {
    if (run._definition.concurrency.policy === 'queue') return { proceed: false, behind: inProgress[0]?.id };
    const by = await actingFor(run);
    for (const { id } of inProgress) await endCancelled(by, id, `superseded by ${run.id} on ${run.commit.ref}`);
  }
  await moveRun(runId, (r) =>
    r.state === 'queued'
      ? { set: { state: 'running', started_at: new Date().toISOString() }, event: 'Pipeline Run Started' }
      : undefined,
  );
  return { proceed: true };
}

/** Records the build of the run's commit (its build stage starts with it) and answers the build's id. */
export async function startBuild(runId: string): Promise<{ build_id: string }> {
  const run = await loadActiveRun(runId);
  const stage = run.stages.find((s) => s.type === 'build') as RunStage;
  if (stage.build_id) return { build_id: stage.build_id };
  const spec = run._definition.stages.find((s) => s.name === stage.name);
  if (spec?.type !== 'build') throw new StageFailed(`Stage ${stage.name} is not the build stage`);
  // The run was allowed (pipeline.run); the build acts for its requester without asking again.
  const build = await requestBuild(
    requesterOf(run),
    run,
    spec,
    (id) =>
      runMoveWrites(run, { set: { stages: stagesWith(run.stages, stage.name, started(run, { build_id: id })) } })
        .writes,
  );
  return { build_id: build.id };
}

/**
 * The running stage succeeded (the workflow only gets here when its nested execution did): record
 * it, then start the next deploy stage, or end the run succeeded when none is left (a pull-request
 * run skips its deploy stages).
 */
export async function nextStage(runId: string, build: BuildOutput | undefined) {
  const run = await loadActiveRun(runId);
  const running = run.stages.find((s) => s.state === 'running');
  let image = run.image;
  if (running?.type === 'build') image = digestReference(build);
  if (running?.deployment_id) {
    const deployment = await loadDeployment(running.deployment_id);
    // Started by an earlier try of this step and still going: answer it again.
    if (!FINAL_STATES.has(deployment.state)) return { done: false, deployment_id: deployment.id };
    if (deployment.state !== 'succeeded') throw new StageFailed(deploymentEnd(deployment));
  }
  const stages = running ? stagesWith(run.stages, running.name, ended('succeeded')) : run.stages;
  const next = run.deploy ? stages.find((s) => s.state === 'pending') : undefined;
  const keep = image ? { image } : {};
  if (!next) {
    const rest = stages.map((s) => (s.state === 'pending' ? { ...s, ...ended('skipped') } : s));
    const { item, writes } = runMoveWrites(run, {
      set: { state: 'succeeded', stages: rest, ...keep },
      event: 'Pipeline Run Succeeded',
    });
    await commit(writes);
    runMoved(item);
    return { done: true };
  }
  const spec = run._definition.stages.find((s) => s.name === next.name);
  const deployment = await requestDeployment(
    await actingFor(run),
    run.app_id,
    {
      env: next.env as string,
      image: image as string,
      ...(spec?.type === 'deploy' && spec.replicas !== undefined ? { replicas: spec.replicas } : {}),
      description: `Pipeline ${run.pipeline_name}, run ${run.id}, stage ${next.name}`,
      // The run's (its build's) commit, when its time is known: the deployment's DORA lead time.
      ...(run.commit.committed_at ? { commit: { sha: run.commit.sha, committed_at: run.commit.committed_at } } : {}),
    },
    (view) =>
      runMoveWrites(run, {
        set: { stages: stagesWith(stages, next.name, started(run, { deployment_id: view.id })), ...keep },
      }).writes,
    // A deploy stage counts against its environment's deploy quota like any deploy request.
    deployQuota,
    { runId: run.id },
  );
  return { done: false, deployment_id: deployment.id };
}

/**
 * The workflow caught a failure: the running stage ends as its deployment did (cancelled when a
 * person cancelled it, failed otherwise) or failed with the error; without a running stage, the
 * stage that could not start failed. The rest are skipped, and the run ends the same way.
 */
export async function failRun(runId: string, error: unknown): Promise<{ state?: string }> {
  const moved = await moveRun(runId, async (run) => {
    if (isFinal(run)) return undefined;
    const failing = run.stages.find((s) => s.state === 'running') ?? run.stages.find((s) => s.state === 'pending');
    let state: 'failed' | 'cancelled' = 'failed';
    let reason = failureOf(error);
    if (failing?.deployment_id) {
      const deployment = await loadDeployment(failing.deployment_id);
      if (deployment.state === 'cancelled') state = 'cancelled';
      if (FINAL_STATES.has(deployment.state)) reason = deploymentEnd(deployment);
    }
    const stages = run.stages.map((s) =>
      s.name === failing?.name
        ? { ...s, ...ended(state, reason) }
        : s.state === 'pending'
          ? { ...s, ...ended('skipped') }
          : s,
    );
    return {
      set: { state, stages, reason: failing ? `stage ${failing.name}: ${reason}` : reason },
      event: state === 'cancelled' ? 'Pipeline Run Cancelled' : 'Pipeline Run Failed',
    };
  });
  return moved ? { state: moved.state } : {};
}

/** What every deploy stage deploys: the build's digest in the app's repository, never its tag. */
function digestReference(build: BuildOutput | undefined): string {
  const { image, digest } = build ?? {};
  if (!image || !digest || !/^sha256:[a-f0-9]{64}$/.test(digest)) {
    throw new StageFailed('The build succeeded without reporting the image digest it pushed');
  }
  // `<repository>:<sha>`: the tag follows the last colon after the last slash (a registry may have a port).
  const tagAt = image.lastIndexOf(':');
  const repository = tagAt > image.lastIndexOf('/') ? image.slice(0, tagAt) : image;
  return `${repository}@${digest}`;
}

const deploymentEnd = (d: { id: string; state: string; reason?: string }) =>
  `deployment ${d.id} ended ${d.state}${d.reason ? `: ${d.reason}` : ''}`;

/**
 * A Catch's `{Error, Cause}` in a sentence. A nested execution that did not succeed fails its task
 * with `States.TaskFailed` and the child's description as the Cause: its own error and cause say why.
 */
export function failureOf(error: unknown): string {
  const { Cause: cause } = (error ?? {}) as { Cause?: string };
  try {
    const child = JSON.parse(cause ?? '') as { Status?: string; Error?: string; Cause?: string; Name?: string };
    if (child.Status) {
      const why = [child.Error, child.Cause].filter(Boolean).join(': ');
      return `${child.Name ?? 'the nested execution'} ended ${child.Status}${why ? `: ${why}` : ''}`.slice(0, 1000);
    }
  } catch {
    // Not a nested execution's description.
  }
  return describeFailure(error);
}
