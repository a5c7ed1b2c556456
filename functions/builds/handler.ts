import { cancelBuild, getBuild, listBuilds, requestBuild } from '../../shared/builds/builds.ts';
import type { BuildView } from '../../shared/builds/model.ts';
import { newBuild } from '../../shared/domain/build.ts';
import { cancelRequest } from '../../shared/domain/deployment.ts';
import { api } from '../../shared/http/api.ts';
import { logAnswer } from '../../shared/http/build-log.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId } from '../../shared/http/params.ts';
import { json } from '../../shared/http/response.ts';

const base = '/api/v1';
/** A build answers 202 with itself and where it is read. */
const accepted = (b: BuildView) => json(202, b, { location: `${base}/builds/${b.id}` });
const buildId = (id: string | undefined) => pathId(id, 'bld', 'Build');

export const handler = api({
  [`POST ${base}/builds`]: async (req) =>
    accepted(await requestBuild(req.caller, req.body(newBuild), req.alsoCommit(accepted))),

  [`GET ${base}/builds`]: async (req) =>
    json(200, await listBuilds(req.caller, req.query.app_id, parsePageRequest(req.query))),

  [`GET ${base}/builds/{id}`]: async (req) => json(200, await getBuild(req.caller, buildId(req.params.id))),

  [`POST ${base}/builds/{id}/cancel`]: async (req) =>
    json(200, await cancelBuild(req.caller, buildId(req.params.id), req.body(cancelRequest).reason)),

  [`GET ${base}/builds/{id}/logs`]: async (req) =>
    logAnswer(req, (await getBuild(req.caller, buildId(req.params.id))).id),
});
