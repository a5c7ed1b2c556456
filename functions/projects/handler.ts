import {
  createProject,
  deleteProject,
  getProject,
  listProjects,
  type ProjectView,
  updateProject,
} from '../../shared/catalog/projects.ts';
import { newProject, projectChanges } from '../../shared/domain/project.ts';
import { jsonObject } from '../../shared/domain/validate.ts';
import { api } from '../../shared/http/api.ts';
import { expectedVersion } from '../../shared/http/etag.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId } from '../../shared/http/params.ts';
import { created, json, noContent, resource } from '../../shared/http/response.ts';

const base = '/api/v1/projects';
const respondCreated = (project: ProjectView) => created(project, `${base}/${project.id}`);

export const handler = api({
  [`GET ${base}`]: async (req) => json(200, await listProjects(req.caller, parsePageRequest(req.query))),

  [`POST ${base}`]: async (req) =>
    respondCreated(await createProject(req.caller, req.body(newProject), req.alsoCommit(respondCreated))),

  [`GET ${base}/{id}`]: async (req) =>
    resource(200, await getProject(req.caller, pathId(req.params.id, 'prj', 'Project'))),

  [`PUT ${base}/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    const id = pathId(req.params.id, 'prj', 'Project');
    return resource(200, await updateProject(req.caller, id, { replace: req.body(projectChanges) }, expected));
  },

  [`PATCH ${base}/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    const id = pathId(req.params.id, 'prj', 'Project');
    return resource(200, await updateProject(req.caller, id, { patch: req.body(jsonObject) }, expected));
  },

  [`DELETE ${base}/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    await deleteProject(req.caller, pathId(req.params.id, 'prj', 'Project'), expected);
    return noContent();
  },
});
