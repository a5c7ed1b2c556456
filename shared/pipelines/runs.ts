/**
 * Runs: a commit through one version of a pipeline. `startRun` records the run `queued` in its
 * lane (pipeline and ref) and starts the pipeline workflow, which takes it from there
 * (shared/pipelines/stages.ts). Here too: cancel, retry, and the reads.
 */
import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { appScope, envScope } from '../auth/scope.ts';
import { cancelDeployment } from '../delivery/deployments.ts';
import { startExecution, stopWorkflow, workflowUnavailable } from '../delivery/workflow.ts';
import type { Commit } from '../domain/commit.ts';
import { checkStages, type PipelineDefinition } from '../domain/pipeline.ts';
import { fullRef, type RunView } from '../domain/run.ts';
import { conflict, isError, notFound } from '../errors.ts';
import { newId } from '../store/ids.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { countChild, present } from '../store/records.ts';
import { type AlsoCommit, commit, getMany, type Item, queryPage } from '../store/table.ts';
import { pipelineIndexes, pipelineKeys } from './keys.ts';
import { isFinal, type RunItem, runUrl } from './model.ts';
import { readPipeline } from './pipelines.ts';
import { ended, moveRun, type RunMove } from './progress.ts';

export interface RunOptions {
  /** False for pull-request runs: build, deploy nothing. Default true. */
  deploy?: boolean;
  /** The run this one retries: its definition and version are run again, not the pipeline's latest. */
  retryOf?: RunItem;
  /** Writes to commit with the run (the idempotency record of the request that starts it). */
  alsoCommit?: AlsoCommit<RunView>;
}

/**
 * Starts a run of the pipeline at `commit`, acting for `actor` (who needs pipeline.run on its
 * application): `POST /pipelines/{id}/run`, retries, and the Git webhooks all start runs here.
 * Answers the queued run; its workflow takes the turn the concurrency policy gives it.
 */
export async function startRun(
  actor: Caller,
  pipelineId: string,
  commitInput: Commit,
  options: RunOptions = {},
): Promise<RunView> {
  const { pipeline } = await readPipeline(actor, pipelineId, 'pipeline.run');
  const definition = options.retryOf?._definition ?? definitionOf(pipeline);
  const id = newId('run');
  const now = new Date().toISOString();
  const gitCommit = { ...commitInput, ref: fullRef(commitInput.ref) };
  const view: RunView = {
    id,
    pipeline_id: pipelineId,
    pipeline_name: pipeline.name as string,
    pipeline_version: (options.retryOf?.pipeline_version ?? pipeline.version) as number,
    app_id: pipeline.app_id as string,
    app_name: pipeline._app_name as string,
    project_id: pipeline.project_id as string,
    commit: gitCommit,
    deploy: options.deploy ?? true,
    state: 'queued',
    stages: checkStages(definition.stages).map((s) => ({
      name: s.name,
      type: s.type,
      ...(s.type === 'deploy' ? { env: s.env } : {}),
      state: 'pending',
    })),
    ...(options.retryOf ? { retry_of: options.retryOf.id } : {}),
    requested_by: actor.sub,
    url: runUrl(id),
    created_at: now,
    updated_at: now,
  };
  const item: Item = {
    ...pipelineKeys.run(id),
    GSI2PK: pipelineIndexes.runsOfPipeline(pipelineId),
    GSI2SK: id,
    ...view,
    _definition: definition,
    version: 1,
    ...(actor.requestId ? { _request_id: actor.requestId } : {}),
  };
  await commit([
    { put: item, condition: 'attribute_not_exists(PK)', onFail: () => conflict('already-exists', 'Run exists') },
    {
      put: pipelineKeys.laneEntry(pipelineId, gitCommit.ref, id),
      onFail: () => conflict('already-exists', 'Run exists'),
    },
    // A pipeline with runs in progress cannot be deleted under them.
    countChild(pipelineKeys.pipeline(pipelineId), '_active_runs', 1, 'Pipeline'),
    ...(options.alsoCommit?.(view) ?? []),
  ]);
  try {
    await startExecution('pipeline', id, { run_id: id });
  } catch (error) {
    // Recorded but never started: end it as failed, so it holds no place in its lane.
    await moveRun(id, (run) => failedToStart(run, (error as Error).name));
    throw workflowUnavailable('run');
  }
  return view;
}

const failedToStart = (run: RunItem, why: string): RunMove | undefined =>
  isFinal(run)
    ? undefined
    : {
        set: {
          state: 'failed',
          reason: `the workflow could not be started: ${why}`,
          stages: run.stages.map((s) => ({ ...s, ...ended('skipped') })),
        },
        event: 'Pipeline Run Failed',
      };

/** The definition the pipeline has now, as its version keeps it. */
const definitionOf = (pipeline: Item): PipelineDefinition => ({
  ...(pipeline.description === undefined ? {} : { description: pipeline.description as string }),
  stages: pipeline.stages,
  triggers: pipeline.triggers,
  concurrency: pipeline.concurrency,
});

/** `POST /runs/{id}/retry`: a new run of the same commit, definition and version, linked to this one. */
export async function retryRun(caller: Caller, id: string, alsoCommit: AlsoCommit<RunView>): Promise<RunView> {
  const { run } = await readRun(caller, id, 'pipeline.run');
  if (!isFinal(run)) throw conflict('run-in-progress', `The run is still ${run.state}: cancel it or let it end first.`);
  return startRun(caller, run.pipeline_id, run.commit, { deploy: run.deploy, retryOf: run, alsoCommit });
}

/**
 * `POST /runs/{id}/cancel`: ends the run `cancelled` first (so no step can record it otherwise),
 * then cancels the deployment it is running through the deployments' own cancel (its approval
 * closed, its environment freed) and stops its workflow, which stops the nested build or deploy
 * execution with it. Whoever may run the pipeline, and deploy where it is deploying, may cancel.
 */
export async function cancelRun(caller: Caller, id: string, reason: string | undefined): Promise<RunView> {
  const { run, access } = await readRun(caller, id, 'pipeline.run');
  if (isFinal(run)) throw runFinal(run.state);
  const deploying = run.stages.find((s) => s.state === 'running' && s.type === 'deploy');
  if (deploying?.env) access.requireOn('deployment.create', envScope(run.project_id, run.app_id, deploying.env));
  const cancelled = await endCancelled(caller, id, `cancelled by ${caller.sub}${reason ? `: ${reason}` : ''}`);
  if (!cancelled) throw runFinal((await loadView(id)).state);
  return present<RunView>(cancelled);
}

/**
 * Ends a run as cancelled, acting as `by`, then cancels its deployment and stops its workflow.
 * Undefined when the run had ended already. Also how a newer run on the same ref cancels an older
 * one (`cancel_in_progress`).
 */
export async function endCancelled(by: Caller, id: string, detail: string): Promise<RunItem | undefined> {
  const cancelled = await moveRun(id, (run) =>
    isFinal(run)
      ? undefined
      : {
          set: {
            state: 'cancelled',
            reason: detail,
            stages: run.stages.map((s) =>
              s.state === 'running'
                ? { ...s, ...ended('cancelled', detail) }
                : s.state === 'pending'
                  ? { ...s, ...ended('skipped') }
                  : s,
            ),
          },
          event: 'Pipeline Run Cancelled',
          by,
        },
  );
  if (!cancelled) return undefined;
  const deployment = cancelled.stages.find((s) => s.state === 'cancelled' && s.deployment_id)?.deployment_id;
  if (deployment) await cancelDeployment(by, deployment, detail).catch(unlessEnded);
  await stopWorkflow('pipeline', id, detail);
  return cancelled;
}

/** The deployment ended meanwhile (or cannot be cancelled by this actor): stopping the run stops it anyway. */
function unlessEnded(error: unknown): void {
  if (!isError(error, 'deployment-final') && !isError(error, 'forbidden')) throw error;
}

const runFinal = (state: string) =>
  conflict('run-final', `The run has already ended (${state}); there is nothing to cancel.`);

export async function getRun(caller: Caller, id: string): Promise<RunView> {
  return present<RunView>((await readRun(caller, id, 'pipeline.read')).run);
}

/** `GET /pipelines/{id}/runs`, newest first. */
export async function listRuns(caller: Caller, pipelineId: string, page: PageRequest): Promise<Page<RunView>> {
  await readPipeline(caller, pipelineId, 'pipeline.read');
  const result = await queryPage({
    index: 'GSI2',
    partition: pipelineIndexes.runsOfPipeline(pipelineId),
    page,
    newestFirst: true,
  });
  return { items: result.items.map((i) => present<RunView>(i)), next_cursor: result.next_cursor };
}

/**
 * `GET /pipelines/{id}/logs`: the build of the pipeline's newest run, whose log it answers (whoever
 * may read the pipeline may read its runs' logs). 404 before the first run has started its build.
 */
export async function latestBuild(caller: Caller, pipelineId: string): Promise<{ run: RunView; buildId: string }> {
  const run = (await listRuns(caller, pipelineId, { limit: 1, cursor: undefined })).items[0];
  const buildId = run?.stages.find((s) => s.type === 'build')?.build_id;
  if (!run || !buildId) throw notFound('A build of this pipeline');
  return { run, buildId };
}

async function readRun(caller: Caller, id: string, permission: 'pipeline.read' | 'pipeline.run') {
  const { access, items } = await signInAndRead(caller, [pipelineKeys.run(id)]);
  const run = items[0] as RunItem | undefined;
  if (!run) throw notFound('Run');
  access.require(permission, appScope(run.project_id, run.app_id), 'pipeline.read', 'Run');
  return { access, run };
}

async function loadView(id: string): Promise<RunView> {
  const [item] = await getMany([pipelineKeys.run(id)]);
  if (!item) throw notFound('Run');
  return present<RunView>(item);
}
