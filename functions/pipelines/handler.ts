import { newPipeline, pipelineChanges } from '../../shared/domain/pipeline.ts';
import { cancelRunRequest, type RunView, runRequest } from '../../shared/domain/run.ts';
import { jsonObject } from '../../shared/domain/validate.ts';
import { invalid } from '../../shared/errors.ts';
import { api } from '../../shared/http/api.ts';
import { logAnswer } from '../../shared/http/build-log.ts';
import { expectedVersion } from '../../shared/http/etag.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId } from '../../shared/http/params.ts';
import { created, json, noContent, resource } from '../../shared/http/response.ts';
import { parseYamlBody } from '../../shared/http/yaml-body.ts';
import {
  createPipeline,
  deletePipeline,
  getPipeline,
  listPipelines,
  type PipelineView,
  updatePipeline,
} from '../../shared/pipelines/pipelines.ts';
import { cancelRun, getRun, latestBuild, listRuns, retryRun, startRun } from '../../shared/pipelines/runs.ts';

const base = '/api/v1';
const pipelineCreated = (p: PipelineView) => created(p, `${base}/pipelines/${p.id}`);
/** A run is long work: 202 with the run and where to watch it. */
const accepted = (run: RunView) => json(202, run, { location: run.url });
const pipelineId = (id: string | undefined) => pathId(id, 'pln', 'Pipeline');
const runId = (id: string | undefined) => pathId(id, 'run', 'Run');
/** Definitions come as JSON or YAML (`Content-Type: application/yaml`). */
const yaml = { yaml: parseYamlBody };

export const handler = api({
  [`GET ${base}/pipelines`]: async (req) =>
    json(200, await listPipelines(req.caller, req.query.app_id, parsePageRequest(req.query))),

  [`POST ${base}/pipelines`]: async (req) =>
    pipelineCreated(await createPipeline(req.caller, req.body(newPipeline, yaml), req.alsoCommit(pipelineCreated))),

  [`GET ${base}/pipelines/{id}`]: async (req) => {
    const version = req.query.version;
    if (version === undefined) return resource(200, await getPipeline(req.caller, pipelineId(req.params.id)));
    if (!/^[1-9]\d{0,9}$/.test(version))
      throw invalid('version must be a positive integer.', [{ name: 'version', reason: 'not a version number' }]);
    // An earlier version is history, not something to send back in If-Match: no ETag.
    return json(200, await getPipeline(req.caller, pipelineId(req.params.id), Number(version)));
  },

  [`PUT ${base}/pipelines/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    const replace = req.body(pipelineChanges, yaml);
    return resource(200, await updatePipeline(req.caller, pipelineId(req.params.id), { replace }, expected));
  },

  [`PATCH ${base}/pipelines/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    const patch = req.body(jsonObject);
    return resource(200, await updatePipeline(req.caller, pipelineId(req.params.id), { patch }, expected));
  },

  [`DELETE ${base}/pipelines/{id}`]: async (req) => {
    await deletePipeline(req.caller, pipelineId(req.params.id), expectedVersion(req.header('if-match')));
    return noContent();
  },

  [`POST ${base}/pipelines/{id}/run`]: async (req) => {
    const { commit } = req.body(runRequest);
    return accepted(
      await startRun(req.caller, pipelineId(req.params.id), commit, { alsoCommit: req.alsoCommit(accepted) }),
    );
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
    json(200, await cancelRun(req.caller, runId(req.params.id), req.body(cancelRunRequest).reason)),

  [`POST ${base}/runs/{id}/retry`]: async (req) =>
    accepted(await retryRun(req.caller, runId(req.params.id), req.alsoCommit(accepted))),
});
