import { newPipeline, pipelineChanges } from '../../shared/domain/pipeline.ts';
import { jsonObject } from '../../shared/domain/validate.ts';
import { invalid } from '../../shared/errors.ts';
import { api } from '../../shared/http/api.ts';
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

/** Pipeline definitions; their runs are functions/runs' (which bundles no YAML parser). */
const base = '/api/v1/pipelines';
const pipelineCreated = (p: PipelineView) => created(p, `${base}/${p.id}`);
const pipelineId = (id: string | undefined) => pathId(id, 'pln', 'Pipeline');
/** Definitions come as JSON or YAML (`Content-Type: application/yaml`). */
const yaml = { yaml: parseYamlBody };

export const handler = api({
  [`GET ${base}`]: async (req) =>
    json(200, await listPipelines(req.caller, req.query.app_id, parsePageRequest(req.query))),

  [`POST ${base}`]: async (req) =>
    pipelineCreated(await createPipeline(req.caller, req.body(newPipeline, yaml), req.alsoCommit(pipelineCreated))),

  [`GET ${base}/{id}`]: async (req) => {
    const version = req.query.version;
    if (version === undefined) return resource(200, await getPipeline(req.caller, pipelineId(req.params.id)));
    if (!/^[1-9]\d{0,9}$/.test(version)) {
      throw invalid('version must be a positive integer.', [{ name: 'version', reason: 'not a version number' }]);
    }
    // An earlier version is history, not something to send back in If-Match: no ETag.
    return json(200, await getPipeline(req.caller, pipelineId(req.params.id), Number(version)));
  },

  [`PUT ${base}/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    const replace = req.body(pipelineChanges, yaml);
    return resource(200, await updatePipeline(req.caller, pipelineId(req.params.id), { replace }, expected));
  },

  [`PATCH ${base}/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    const patch = req.body(jsonObject);
    return resource(200, await updatePipeline(req.caller, pipelineId(req.params.id), { patch }, expected));
  },

  [`DELETE ${base}/{id}`]: async (req) => {
    await deletePipeline(req.caller, pipelineId(req.params.id), expectedVersion(req.header('if-match')));
    return noContent();
  },
});
