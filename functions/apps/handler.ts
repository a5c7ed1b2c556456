import { type AppView, createApp, deleteApp, getApp, listApps, updateApp } from '../../shared/catalog/apps.ts';
import { listEnvironments } from '../../shared/catalog/environment-overview.ts';
import { createEnv, deleteEnv, type EnvView, getEnv, listEnvs, updateEnv } from '../../shared/catalog/environments.ts';
import { appChanges, newApp } from '../../shared/domain/app.ts';
import { environmentsQuery, newEnv } from '../../shared/domain/environment.ts';
import { jsonObject, validate } from '../../shared/domain/validate.ts';
import { api } from '../../shared/http/api.ts';
import { expectedVersion } from '../../shared/http/etag.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId, pathName } from '../../shared/http/params.ts';
import { created, json, noContent, resource } from '../../shared/http/response.ts';

const base = '/api/v1/apps';
const appCreated = (app: AppView) => created(app, `${base}/${app.id}`);
const envCreated = (env: EnvView) => created(env, `${base}/${env.app_id}/envs/${env.name}`);
const appId = (id: string | undefined) => pathId(id, 'app', 'Application');

export const handler = api({
  [`GET ${base}`]: async (req) => {
    const projectId = req.query.project_id === undefined ? undefined : pathId(req.query.project_id, 'prj', 'Project');
    return json(200, await listApps(req.caller, projectId, parsePageRequest(req.query)));
  },

  [`POST ${base}`]: async (req) =>
    appCreated(await createApp(req.caller, req.body(newApp), req.alsoCommit(appCreated))),

  [`GET ${base}/{id}`]: async (req) => resource(200, await getApp(req.caller, appId(req.params.id))),

  [`PUT ${base}/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    return resource(
      200,
      await updateApp(req.caller, appId(req.params.id), { replace: req.body(appChanges) }, expected),
    );
  },

  [`PATCH ${base}/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    return resource(200, await updateApp(req.caller, appId(req.params.id), { patch: req.body(jsonObject) }, expected));
  },

  [`DELETE ${base}/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    await deleteApp(req.caller, appId(req.params.id), expected);
    return noContent();
  },

  [`GET ${base}/{id}/envs`]: async (req) =>
    json(200, await listEnvs(req.caller, appId(req.params.id), parsePageRequest(req.query))),

  [`POST ${base}/{id}/envs`]: async (req) =>
    envCreated(await createEnv(req.caller, appId(req.params.id), req.body(newEnv), req.alsoCommit(envCreated))),

  [`GET ${base}/{id}/envs/{env}`]: async (req) =>
    resource(200, await getEnv(req.caller, appId(req.params.id), pathName(req.params.env, 'Environment'))),

  [`PATCH ${base}/{id}/envs/{env}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    const env = pathName(req.params.env, 'Environment');
    return resource(200, await updateEnv(req.caller, appId(req.params.id), env, req.body(jsonObject), expected));
  },

  'GET /api/v1/environments': async (req) => {
    const { project_id, cluster_id, tier } = validate(environmentsQuery, req.query, 'The query');
    const filter = { projectId: project_id, clusterId: cluster_id, tier };
    return json(200, await listEnvironments(req.caller, filter, parsePageRequest(req.query)));
  },

  [`DELETE ${base}/{id}/envs/{env}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    await deleteEnv(req.caller, appId(req.params.id), pathName(req.params.env, 'Environment'), expected);
    return noContent();
  },
});
