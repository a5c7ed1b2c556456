/**
 * The builds API: a build is recorded `queued` and its state machine started (by the API, or as a
 * nested execution of a pipeline run); the workflow steps move it along (shared/builds/steps.ts).
 * Here too: reading a build, the lists, and its log. Nothing here reaches a cluster.
 */
import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { appScope } from '../auth/scope.ts';
import { config } from '../config.ts';
import { startExecution, stopWorkflow, workflowUnavailable } from '../delivery/workflow.ts';
import type { NewBuild } from '../domain/build.ts';
import { busy, conflict, invalid, notFound, unprocessable } from '../errors.ts';
import type { Actor } from '../events/outbox.ts';
import { newId } from '../store/ids.ts';
import { keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { present } from '../store/records.ts';
import { type AlsoCommit, commit, getMany, type Item, queryPage } from '../store/table.ts';
import { buildIndexes, buildKeys } from './keys.ts';
import { appendLog, type LogChunk, readChunks } from './log.ts';
import { type LogCursor, platformLine } from './log-lines.ts';
import { type BuildView, FINAL_STATES, logsUrl } from './model.ts';
import { type Build, BuildNotFound, loadBuild } from './progress.ts';

/** What a build is asked for: `POST /builds`'s body, and for a pipeline run the run it belongs to. */
export type BuildRequest = NewBuild & { run_id?: string };

/**
 * Records a build `queued`, without starting it or checking who asks: for a pipeline run, whose
 * workflow has its permission from the run and starts the build machine itself (a nested
 * execution named after the build, input `{build_id}`). `alsoCommit` joins the same transaction.
 */
export async function createBuild(
  actor: Actor,
  input: BuildRequest,
  alsoCommit: AlsoCommit<BuildView> = () => [],
): Promise<BuildView> {
  const [app] = await getMany([keys.app(input.app_id)]);
  if (!app) throw notFound('Application');
  return recordBuild(actor, app, input, alsoCommit);
}

/** `POST /builds`: 202 with the queued build; its workflow takes it from there. */
export async function requestBuild(
  caller: Caller,
  input: NewBuild,
  alsoCommit: AlsoCommit<BuildView>,
): Promise<BuildView> {
  const { access, items } = await signInAndRead(caller, [keys.app(input.app_id)]);
  const app = items[0];
  if (!app) throw notFound('Application');
  access.require('build.run', appScope(app.project_id as string, app.id as string), 'app.read', 'Application');
  const build = await recordBuild(caller, app, input, alsoCommit);
  try {
    await startExecution('build', build.id, { build_id: build.id });
  } catch {
    // Recorded but never started: end it as failed, saying so in its log, so nothing shows it queued for ever.
    const reason = 'the build workflow could not be started';
    await appendLog(await loadBuild(build.id), platformLine(reason), undefined, {
      set: { state: 'failed', reason },
      event: 'Build Failed',
    });
    throw workflowUnavailable('build');
  }
  return build;
}

/** The cluster builds run on: the app's, or the platform's default (SLIPWAY_BUILD_CLUSTER_ID). */
function buildClusterOf(app: Item): string {
  const clusterId = (app.build_cluster_id as string | undefined) ?? config.buildClusterId;
  if (!clusterId) {
    throw unprocessable(
      'no-build-cluster',
      `Application ${app.name} names no build cluster (build_cluster_id) and the platform has no default one.`,
    );
  }
  return clusterId;
}

async function recordBuild(
  actor: Actor,
  app: Item,
  input: BuildRequest,
  alsoCommit: AlsoCommit<BuildView>,
): Promise<BuildView> {
  const clusterId = buildClusterOf(app);
  const id = newId('bld');
  const now = new Date().toISOString();
  const view: BuildView = {
    id,
    app_id: app.id as string,
    app_name: app.name as string,
    project_id: app.project_id as string,
    ...(input.run_id ? { run_id: input.run_id } : {}),
    commit: input.commit,
    context: input.context,
    dockerfile: input.dockerfile,
    build_args: input.build_args,
    ...(input.target ? { target: input.target } : {}),
    cache: input.cache,
    state: 'queued',
    image: `${app.image_repository}:${input.commit.sha}`,
    cluster_id: clusterId,
    log: { bytes: 0, chunks: 0 },
    requested_by: actor.sub,
    logs_url: logsUrl(id),
    created_at: now,
    updated_at: now,
  };
  await commit([
    {
      put: {
        ...buildKeys.build(id),
        GSI2PK: buildIndexes.buildsOfApp(view.app_id),
        GSI2SK: id,
        ...view,
        version: 1,
        ...(actor.requestId ? { _request_id: actor.requestId } : {}),
      },
      condition: 'attribute_not_exists(PK)',
      onFail: () => conflict('already-exists', 'The build exists already.'),
    },
    {
      check: keys.cluster(clusterId),
      condition: 'attribute_exists(PK)',
      onFail: () => unprocessable('unknown-cluster', `The build cluster ${clusterId} is not registered (any more).`),
    },
    ...alsoCommit(view),
  ]);
  return view;
}

/**
 * `POST /builds/{id}/cancel`: ends it `cancelled` (in its state and its log), then stops its workflow;
 * the build watch deletes its Job when the stop lands. Whoever may run builds of the app may cancel.
 */
/** A cancel racing the builder's log lines reads again this often before answering 409 (retry). */
const MAX_CANCEL_ATTEMPTS = 5;

export async function cancelBuild(caller: Caller, id: string, reason: string | undefined): Promise<BuildView> {
  const { access, items } = await signInAndRead(caller, [buildKeys.build(id)]);
  const build = items[0] as Build | undefined;
  if (!build) throw notFound('Build');
  access.require('build.run', appScope(build.project_id, build.app_id), 'build.read', 'Build');
  const detail = `cancelled by ${caller.sub}${reason ? `: ${reason}` : ''}`;
  // The cancel line joins the log after what the builder wrote; a line written meanwhile moves the
  // log on, so read it again and retry, until the build has ended.
  let current = build;
  let cancelled: Build | undefined;
  for (let attempt = 1; !cancelled && !FINAL_STATES.has(current.state) && attempt <= MAX_CANCEL_ATTEMPTS; attempt++) {
    if (attempt > 1) current = await loadBuild(id);
    if (FINAL_STATES.has(current.state)) break;
    cancelled = await appendLog(current, platformLine(detail), current._log_cursor as LogCursor | undefined, {
      set: { state: 'cancelled', reason: detail },
      event: 'Build Cancelled',
      by: caller,
    });
  }
  if (!cancelled) {
    const { state } = await loadBuild(id);
    if (!FINAL_STATES.has(state)) throw busy('concurrent-modification', 'The build kept moving; retry the cancel.');
    throw conflict('build-final', `The build has already finished (${state}); there is nothing to cancel.`);
  }
  await stopWorkflow('build', id, detail);
  return present<BuildView>(cancelled);
}

export async function getBuild(caller: Caller, id: string): Promise<BuildView> {
  const { access, items } = await signInAndRead(caller, [buildKeys.build(id)]);
  const item = items[0];
  if (!item || !access.can('build.read', appScope(item.project_id as string, item.app_id as string))) {
    throw notFound('Build');
  }
  return present<BuildView>(item);
}

/** `GET /builds?app_id=…`, newest first. */
export async function listBuilds(
  caller: Caller,
  appId: string | undefined,
  page: PageRequest,
): Promise<Page<BuildView>> {
  if (!appId) throw invalid('app_id is required.', [{ name: 'app_id', reason: 'missing' }]);
  const { access, items } = await signInAndRead(caller, [keys.app(appId)]);
  const app = items[0];
  if (!app || !access.can('build.read', appScope(app.project_id as string, appId))) throw notFound('Application');
  const result = await queryPage({
    index: 'GSI2',
    partition: buildIndexes.buildsOfApp(appId),
    page,
    newestFirst: true,
  });
  return { items: result.items.map((i) => present<BuildView>(i)), next_cursor: result.next_cursor };
}

/** Most of a log one answer carries (Lambda answers at most 6 MB); the rest is a `since` away. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
/** How often a waiting read looks for more. */
const WAIT_STEP_MS = 1_000;

export interface LogRead {
  /** The build as it stood just before the chunks were read. */
  build: BuildView;
  chunks: LogChunk[];
  /** The byte offset after the last chunk (or the position asked, when there is none). */
  end: number;
  /** The build has ended and `end` is the end of its log: there will never be more. */
  complete: boolean;
}

/**
 * The log of a build after byte `since` (0: all of it), for whoever has checked the caller may read
 * it (the builds API, a pipeline's logs). With `waitMs`, waits up to that long for something new
 * (a line, or the build's end) before answering nothing. A position past the end is refused:
 * no answer ever gave it.
 */
export async function readLog(buildId: string, since: number, options: { waitMs?: number } = {}): Promise<LogRead> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    // The build first: once it is final, no chunk is written after this read, so its size is the end.
    const build = present<BuildView>(await loadBuild(buildId).catch(notFoundBuild));
    if (since > build.log.bytes) {
      throw invalid(`The log is ${build.log.bytes} bytes long: there is nothing at ${since}.`, [
        { name: 'since', reason: 'past the end of the log' },
      ]);
    }
    const chunks = since < build.log.bytes ? await readChunks(buildId, since, MAX_ANSWER_BYTES) : [];
    const end = chunks.at(-1)?.offset ?? since;
    const complete = FINAL_STATES.has(build.state) && end >= build.log.bytes;
    if (chunks.length > 0 || complete || Date.now() + WAIT_STEP_MS > deadline) return { build, chunks, end, complete };
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
  }
}

const notFoundBuild = (error: unknown): never => {
  throw error instanceof BuildNotFound ? notFound('Build') : error;
};
