import {
  type ClusterView,
  createCluster,
  deleteCluster,
  getCluster,
  listClusters,
  updateCluster,
} from '../../shared/catalog/clusters.ts';
import { newCluster } from '../../shared/domain/cluster.ts';
import { jsonObject } from '../../shared/domain/validate.ts';
import { api } from '../../shared/http/api.ts';
import { expectedVersion } from '../../shared/http/etag.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId } from '../../shared/http/params.ts';
import { created, json, noContent, resource } from '../../shared/http/response.ts';

const base = '/api/v1/clusters';
const respondCreated = (cluster: ClusterView) => created(cluster, `${base}/${cluster.id}`);
const clusterId = (id: string | undefined) => pathId(id, 'cls', 'Cluster');

export const handler = api({
  [`GET ${base}`]: async (req) => json(200, await listClusters(req.caller, parsePageRequest(req.query))),

  [`POST ${base}`]: async (req) =>
    respondCreated(await createCluster(req.caller, req.body(newCluster), req.alsoCommit(respondCreated))),

  [`GET ${base}/{id}`]: async (req) => resource(200, await getCluster(req.caller, clusterId(req.params.id))),

  [`PATCH ${base}/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    return resource(200, await updateCluster(req.caller, clusterId(req.params.id), req.body(jsonObject), expected));
  },

  [`DELETE ${base}/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    await deleteCluster(req.caller, clusterId(req.params.id), expected);
    return noContent();
  },
});
