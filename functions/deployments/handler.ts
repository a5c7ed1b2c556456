import {
  cancelDeployment,
  deploymentStatus,
  getDeployment,
  listDeployments,
  requestDeployment,
  requestRollback,
} from '../../shared/delivery/deployments.ts';
import type { DeploymentView } from '../../shared/delivery/model.ts';
import { requestPromotion } from '../../shared/delivery/promotion.ts';
import { listReleases } from '../../shared/delivery/releases.ts';
import {
  cancelRequest,
  deployRequest,
  newDeployment,
  newRollback,
  promoteRequest,
} from '../../shared/domain/deployment.ts';
import { api } from '../../shared/http/api.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId, pathName } from '../../shared/http/params.ts';
import { json } from '../../shared/http/response.ts';

const base = '/api/v1';
/** Long work answers 202 with the deployment and where to watch it. */
const accepted = (d: DeploymentView) => json(202, d, { location: d.status_url });
const appId = (id: string | undefined) => pathId(id, 'app', 'Application');
const deploymentId = (id: string | undefined) => pathId(id, 'dep', 'Deployment');

export const handler = api({
  [`POST ${base}/apps/{id}/deploy`]: async (req) =>
    accepted(
      await requestDeployment(
        req.caller,
        appId(req.params.id),
        req.body(deployRequest),
        req.alsoCommit(accepted),
        req.meter,
      ),
    ),

  [`POST ${base}/apps/{id}/promote`]: async (req) =>
    accepted(
      await requestPromotion(
        req.caller,
        appId(req.params.id),
        req.body(promoteRequest),
        req.alsoCommit(accepted),
        req.meter,
      ),
    ),

  [`POST ${base}/deployments`]: async (req) => {
    const { app_id, ...request } = req.body(newDeployment);
    return accepted(await requestDeployment(req.caller, app_id, request, req.alsoCommit(accepted), req.meter));
  },

  [`GET ${base}/deployments`]: async (req) =>
    json(200, await listDeployments(req.caller, req.query.app_id, req.query.env, parsePageRequest(req.query))),

  [`GET ${base}/deployments/{id}`]: async (req) =>
    json(200, (await getDeployment(req.caller, deploymentId(req.params.id))).deployment),

  [`GET ${base}/deployments/{id}/status`]: async (req) =>
    json(200, await deploymentStatus(req.caller, deploymentId(req.params.id))),

  [`POST ${base}/deployments/{id}/cancel`]: async (req) =>
    json(200, await cancelDeployment(req.caller, deploymentId(req.params.id), req.body(cancelRequest).reason)),

  [`GET ${base}/apps/{id}/envs/{env}/releases`]: async (req) =>
    json(
      200,
      await listReleases(
        req.caller,
        appId(req.params.id),
        pathName(req.params.env, 'Environment'),
        parsePageRequest(req.query),
      ),
    ),

  [`POST ${base}/rollbacks`]: async (req) =>
    accepted(await requestRollback(req.caller, req.body(newRollback), req.alsoCommit(accepted), req.meter)),
});
