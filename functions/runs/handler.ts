import { cancelRequest } from '../../shared/domain/deployment.ts';
import { type RunView, runRequest } from '../../shared/domain/run.ts';
import { api } from '../../shared/http/api.ts';
import { logAnswer } from '../../shared/http/build-log.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId } from '../../shared/http/params.ts';
import { json } from '../../shared/http/response.ts';
import { cancelRun, getRun, latestBuild, listRuns, retryRun, startRun } from '../../shared/pipelines/runs.ts';

const base = '/api/v1';
/** A run is long work: 202 with the run and where to watch it. */
const accepted = (run: RunView) => json(202, run, { location: run.url });
const pipelineId = (id: string | undefined) => pathId(id, 'pln', 'Pipeline');
const runId = (id: string | undefined) => pathId(id, 'run', 'Run');

export const handler = api({
  [`POST ${base}/pipelines/{id}/run`]: async (req) => {
    const { commit } = req.body(runRequest);
    const run = await startRun(req.caller, pipelineId(req.params.id), commit, { alsoCommit: req.alsoCommit(accepted) });
    return accepted(run);
  },

  [`GET ${base}/pipelines/{id}/runs`]: async (req) =>
    json(200, await listRuns(req.caller, pipelineId(req.params.id), parsePageRequest(req.query))),

  [`GET ${base}/pipelines/{id}/logs`]: async (req) => {
    const { run, buildId } = await latestBuild(req.caller, pipelineId(req.params.id));
    const answer = await logAnswer(req, buildId);
    // The newest run may change between two reads: say whose log this is.
    return { ...answer, headers: { ...answer.headers, 'run-id': run.id, 'build-id': buildId } };
  },

  [`GET ${base}/runs/{id}`]: async (req) => json(200, await getRun(req.caller, runId(req.params.id))),

  [`POST ${base}/runs/{id}/cancel`]: async (req) =>
    json(200, await cancelRun(req.caller, runId(req.params.id), req.body(cancelRequest).reason)),

  [`POST ${base}/runs/{id}/retry`]: async (req) =>
    accepted(await retryRun(req.caller, runId(req.params.id), req.alsoCommit(accepted))),
});
