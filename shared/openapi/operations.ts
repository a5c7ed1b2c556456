/**
 * Every API operation, described once for the OpenAPI document: the request schemas are the
 * ones the handlers validate with, the response schemas are in views.ts. Paths and methods
 * match infra/manifest.ts (test/unit/openapi.test.ts holds them to it).
 */
import * as z from 'zod/mini';
import { appChanges, newApp } from '../domain/app.ts';
import { clusterChanges, newCluster } from '../domain/cluster.ts';
import { envChanges, newEnv } from '../domain/environment.ts';
import { dnsLabel, resourceId } from '../domain/fields.ts';
import { newBinding, newTeam, userId } from '../domain/identity.ts';
import { newProject, projectChanges } from '../domain/project.ts';
import * as views from './views.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 422 | 428;

export interface Parameter {
  name: string;
  in: 'path' | 'query';
  description: string;
  schema: z.ZodMiniType;
}

export interface Success {
  status: 200 | 201 | 204;
  description: string;
  /** JSON body; absent for 204 (and for the meta routes that answer other media types). */
  schema?: z.ZodMiniType;
  etag?: true;
  location?: true;
}

export interface Operation {
  method: Method;
  path: string;
  operationId: string;
  tag: Tag;
  summary: string;
  description?: string;
  /** No JWT: the route skips the authorizer (manifest `public`). */
  public?: true;
  /** Path parameters in template order, then query parameters (limit and cursor come with `paged`). */
  parameters?: Parameter[];
  paged?: true;
  /** A PATCH body is an RFC 7396 merge patch of `schema`; the merged result must satisfy it. */
  body?: { schema: z.ZodMiniType; mergePatch?: true };
  ifMatch?: true;
  idempotencyKey?: true;
  success: Success[];
  /** Statuses (and why) beyond the ones implied by auth, parameters, body, If-Match and Idempotency-Key. */
  errors?: Partial<Record<ErrorStatus, string>>;
}

/** One section each in the docs, in this order. */
export const tags = [
  { name: 'Meta', description: 'Health, this document and this page: no token needed.' },
  { name: 'Projects', description: 'A project groups applications and is the usual scope of a role binding.' },
  { name: 'Applications', description: 'An application builds from one Git repository and deploys one image.' },
  {
    name: 'Environments',
    description: "An application's deploy targets (dev, staging, prod), each a namespace on a cluster.",
  },
  { name: 'Clusters', description: 'Kubernetes clusters Slipway deploys to: shared platform infrastructure.' },
  {
    name: 'Users and teams',
    description: 'Users are the subjects of OIDC tokens; teams group them for role bindings.',
  },
  {
    name: 'Roles and bindings',
    description: 'A binding gives a role (a set of permissions) to a user or team on a scope.',
  },
] as const;

export type Tag = (typeof tags)[number]['name'];

const pages = {
  projects: views.page(views.project),
  apps: views.page(views.app),
  envs: views.page(views.env),
  clusters: views.page(views.cluster),
  teams: views.page(views.team),
  members: views.page(views.member),
  bindings: views.page(views.binding),
  users: views.page(views.user),
  roles: views.page(views.role),
};

/** Component names of every schema the document shows; operations refer to the schemas themselves. */
export const schemas: Readonly<Record<string, z.ZodMiniType>> = {
  NewProject: newProject,
  ProjectChanges: projectChanges,
  NewApp: newApp,
  AppChanges: appChanges,
  NewEnv: newEnv,
  EnvChanges: envChanges,
  NewCluster: newCluster,
  ClusterChanges: clusterChanges,
  NewTeam: newTeam,
  NewBinding: newBinding,
  Project: views.project,
  ProjectPage: pages.projects,
  App: views.app,
  AppPage: pages.apps,
  Env: views.env,
  EnvPage: pages.envs,
  Cluster: views.cluster,
  ClusterPage: pages.clusters,
  Team: views.team,
  TeamPage: pages.teams,
  Member: views.member,
  MemberPage: pages.members,
  Binding: views.binding,
  BindingPage: pages.bindings,
  User: views.user,
  UserPage: pages.users,
  CurrentUser: views.me,
  Role: views.role,
  RolePage: pages.roles,
  Health: views.health,
  Problem: views.problem,
  GatewayError: views.gatewayError,
};

const path = (name: string, schema: z.ZodMiniType, description: string): Parameter => ({
  name,
  in: 'path',
  schema,
  description,
});
const ids = {
  project: path('id', resourceId('prj'), 'Project id.'),
  app: path('id', resourceId('app'), 'Application id.'),
  cluster: path('id', resourceId('cls'), 'Cluster id.'),
  team: path('id', resourceId('team'), 'Team id.'),
  binding: path('id', resourceId('bnd'), 'Role binding id.'),
  env: path('env', dnsLabel, 'Environment name.'),
  user: path('userId', userId, 'User id: the `sub` claim of their tokens.'),
};

const list = (what: string, schema: z.ZodMiniType): Success[] => [
  { status: 200, description: `A page of ${what}.`, schema },
];
const read = (schema: z.ZodMiniType): Success[] => [{ status: 200, description: 'The resource.', schema, etag: true }];
const made = (schema: z.ZodMiniType): Success[] => [
  { status: 201, description: 'Created.', schema, etag: true, location: true },
];
const changed = (schema: z.ZodMiniType): Success[] => [{ status: 200, description: 'Changed.', schema, etag: true }];
const gone: Success[] = [{ status: 204, description: 'Deleted.' }];

const PUT_REPLACES = 'Replaces every changeable field: fields left out are cleared.';
const PATCH_MERGES = 'RFC 7396 merge patch: send only what changes; `null` removes an optional field.';

export const operations: readonly Operation[] = [
  {
    method: 'GET',
    path: '/api/v1/health',
    operationId: 'getHealth',
    tag: 'Meta',
    public: true,
    summary: 'Health check',
    success: [{ status: 200, description: 'The service is up.', schema: views.health }],
  },
  {
    method: 'GET',
    path: '/api/v1/openapi.json',
    operationId: 'getOpenApiDocument',
    tag: 'Meta',
    public: true,
    summary: 'This API as an OpenAPI 3.1 document',
    success: [{ status: 200, description: 'The OpenAPI document (application/json).' }],
  },
  {
    method: 'GET',
    path: '/docs',
    operationId: 'getDocs',
    tag: 'Meta',
    public: true,
    summary: 'This documentation as one HTML page',
    success: [{ status: 200, description: 'The page (text/html).' }],
  },

  {
    method: 'GET',
    path: '/api/v1/projects',
    operationId: 'listProjects',
    tag: 'Projects',
    summary: 'List projects',
    description: 'Every project for platform-wide readers; otherwise the projects you hold a role in.',
    paged: true,
    success: list('projects', pages.projects),
  },
  {
    method: 'POST',
    path: '/api/v1/projects',
    operationId: 'createProject',
    tag: 'Projects',
    summary: 'Create a project',
    body: { schema: newProject },
    idempotencyKey: true,
    success: made(views.project),
    errors: { 403: 'Needs project.create on the platform.', 409: 'The name is taken.' },
  },
  {
    method: 'GET',
    path: '/api/v1/projects/{id}',
    operationId: 'getProject',
    tag: 'Projects',
    summary: 'Get a project',
    parameters: [ids.project],
    success: read(views.project),
  },
  {
    method: 'PUT',
    path: '/api/v1/projects/{id}',
    operationId: 'replaceProject',
    tag: 'Projects',
    summary: 'Replace a project',
    description: PUT_REPLACES,
    parameters: [ids.project],
    body: { schema: projectChanges },
    ifMatch: true,
    success: changed(views.project),
    errors: { 403: 'Needs project.update.' },
  },
  {
    method: 'PATCH',
    path: '/api/v1/projects/{id}',
    operationId: 'updateProject',
    tag: 'Projects',
    summary: 'Update a project',
    description: PATCH_MERGES,
    parameters: [ids.project],
    body: { schema: projectChanges, mergePatch: true },
    ifMatch: true,
    success: changed(views.project),
    errors: { 403: 'Needs project.update.' },
  },
  {
    method: 'DELETE',
    path: '/api/v1/projects/{id}',
    operationId: 'deleteProject',
    tag: 'Projects',
    summary: 'Delete a project',
    parameters: [ids.project],
    ifMatch: true,
    success: gone,
    errors: { 403: 'Needs project.delete.', 409: 'The project still has applications.' },
  },

  {
    method: 'GET',
    path: '/api/v1/apps',
    operationId: 'listApps',
    tag: 'Applications',
    summary: 'List applications',
    description: 'Without `project_id` only platform-wide readers get an answer (400 otherwise).',
    parameters: [
      {
        name: 'project_id',
        in: 'query',
        schema: resourceId('prj'),
        description: 'Only the applications of this project.',
      },
    ],
    paged: true,
    success: list('applications', pages.apps),
    errors: { 404: 'The project does not exist or you cannot see it.' },
  },
  {
    method: 'POST',
    path: '/api/v1/apps',
    operationId: 'createApp',
    tag: 'Applications',
    summary: 'Create an application',
    body: { schema: newApp },
    idempotencyKey: true,
    success: made(views.app),
    errors: {
      403: 'Needs app.create on the project.',
      404: 'The project does not exist or you cannot see it.',
      409: 'The name is taken in this project.',
    },
  },
  {
    method: 'GET',
    path: '/api/v1/apps/{id}',
    operationId: 'getApp',
    tag: 'Applications',
    summary: 'Get an application',
    parameters: [ids.app],
    success: read(views.app),
  },
  {
    method: 'PUT',
    path: '/api/v1/apps/{id}',
    operationId: 'replaceApp',
    tag: 'Applications',
    summary: 'Replace an application',
    description: PUT_REPLACES,
    parameters: [ids.app],
    body: { schema: appChanges },
    ifMatch: true,
    success: changed(views.app),
    errors: { 403: 'Needs app.update.' },
  },
  {
    method: 'PATCH',
    path: '/api/v1/apps/{id}',
    operationId: 'updateApp',
    tag: 'Applications',
    summary: 'Update an application',
    description: PATCH_MERGES,
    parameters: [ids.app],
    body: { schema: appChanges, mergePatch: true },
    ifMatch: true,
    success: changed(views.app),
    errors: { 403: 'Needs app.update.' },
  },
  {
    method: 'DELETE',
    path: '/api/v1/apps/{id}',
    operationId: 'deleteApp',
    tag: 'Applications',
    summary: 'Delete an application',
    parameters: [ids.app],
    ifMatch: true,
    success: gone,
    errors: { 403: 'Needs app.delete.', 409: 'The application still has environments.' },
  },
  {
    method: 'GET',
    path: '/api/v1/apps/{id}/envs',
    operationId: 'listEnvs',
    tag: 'Environments',
    summary: "List an application's environments",
    description: 'In promotion order (`order`: dev, staging, prod).',
    parameters: [ids.app],
    paged: true,
    success: list('environments', pages.envs),
  },
  {
    method: 'POST',
    path: '/api/v1/apps/{id}/envs',
    operationId: 'createEnv',
    tag: 'Environments',
    summary: 'Create an environment',
    parameters: [ids.app],
    body: { schema: newEnv },
    idempotencyKey: true,
    success: made(views.env),
    errors: {
      403: 'Needs env.create on the application.',
      409: 'An environment of that name exists.',
      422: 'The cluster does not exist.',
    },
  },
  {
    method: 'GET',
    path: '/api/v1/apps/{id}/envs/{env}',
    operationId: 'getEnv',
    tag: 'Environments',
    summary: 'Get an environment',
    parameters: [ids.app, ids.env],
    success: read(views.env),
  },
  {
    method: 'PATCH',
    path: '/api/v1/apps/{id}/envs/{env}',
    operationId: 'updateEnv',
    tag: 'Environments',
    summary: 'Update an environment',
    description: PATCH_MERGES,
    parameters: [ids.app, ids.env],
    body: { schema: envChanges, mergePatch: true },
    ifMatch: true,
    success: changed(views.env),
    errors: { 403: 'Needs env.update.', 422: 'The cluster does not exist.' },
  },
  {
    method: 'DELETE',
    path: '/api/v1/apps/{id}/envs/{env}',
    operationId: 'deleteEnv',
    tag: 'Environments',
    summary: 'Delete an environment',
    parameters: [ids.app, ids.env],
    ifMatch: true,
    success: gone,
    errors: { 403: 'Needs env.delete.' },
  },

  {
    method: 'GET',
    path: '/api/v1/clusters',
    operationId: 'listClusters',
    tag: 'Clusters',
    summary: 'List clusters',
    paged: true,
    success: list('clusters', pages.clusters),
    errors: { 403: 'Needs a role binding somewhere.' },
  },
  {
    method: 'POST',
    path: '/api/v1/clusters',
    operationId: 'createCluster',
    tag: 'Clusters',
    summary: 'Register a cluster',
    description:
      'A token is referenced by its Secrets Manager ARN and never shown again: reads answer `token_configured: true`.',
    body: { schema: newCluster },
    idempotencyKey: true,
    success: made(views.cluster),
    errors: { 403: 'Needs cluster.create on the platform.', 409: 'The name is taken.' },
  },
  {
    method: 'GET',
    path: '/api/v1/clusters/{id}',
    operationId: 'getCluster',
    tag: 'Clusters',
    summary: 'Get a cluster',
    parameters: [ids.cluster],
    success: read(views.cluster),
  },
  {
    method: 'PATCH',
    path: '/api/v1/clusters/{id}',
    operationId: 'updateCluster',
    tag: 'Clusters',
    summary: 'Update a cluster',
    description: `${PATCH_MERGES} \`auth\` is replaced whole.`,
    parameters: [ids.cluster],
    body: { schema: clusterChanges, mergePatch: true },
    ifMatch: true,
    success: changed(views.cluster),
    errors: { 403: 'Needs cluster.update on the platform.' },
  },
  {
    method: 'DELETE',
    path: '/api/v1/clusters/{id}',
    operationId: 'deleteCluster',
    tag: 'Clusters',
    summary: 'Delete a cluster',
    parameters: [ids.cluster],
    ifMatch: true,
    success: gone,
    errors: { 403: 'Needs cluster.delete on the platform.', 409: 'Environments are still placed on the cluster.' },
  },

  {
    method: 'GET',
    path: '/api/v1/users',
    operationId: 'listUsers',
    tag: 'Users and teams',
    summary: 'List users',
    description: 'Users appear on their first signed-in call.',
    paged: true,
    success: list('users', pages.users),
    errors: { 403: 'Needs a role binding somewhere.' },
  },
  {
    method: 'GET',
    path: '/api/v1/users/me',
    operationId: 'getCurrentUser',
    tag: 'Users and teams',
    summary: 'Who am I',
    description: 'You, with every grant that applies to you: direct, through teams, and from admin groups.',
    success: [{ status: 200, description: 'You.', schema: views.me }],
  },
  {
    method: 'GET',
    path: '/api/v1/teams',
    operationId: 'listTeams',
    tag: 'Users and teams',
    summary: 'List teams',
    paged: true,
    success: list('teams', pages.teams),
    errors: { 403: 'Needs a role binding somewhere.' },
  },
  {
    method: 'POST',
    path: '/api/v1/teams',
    operationId: 'createTeam',
    tag: 'Users and teams',
    summary: 'Create a team',
    body: { schema: newTeam },
    idempotencyKey: true,
    success: made(views.team),
    errors: { 403: 'Needs iam.manage on the platform.', 409: 'The name is taken.' },
  },
  {
    method: 'GET',
    path: '/api/v1/teams/{id}',
    operationId: 'getTeam',
    tag: 'Users and teams',
    summary: 'Get a team',
    parameters: [ids.team],
    success: read(views.team),
  },
  {
    method: 'DELETE',
    path: '/api/v1/teams/{id}',
    operationId: 'deleteTeam',
    tag: 'Users and teams',
    summary: 'Delete a team',
    parameters: [ids.team],
    ifMatch: true,
    success: gone,
    errors: { 403: 'Needs iam.manage on the platform.', 409: 'The team still has members or role bindings.' },
  },
  {
    method: 'GET',
    path: '/api/v1/teams/{id}/members',
    operationId: 'listTeamMembers',
    tag: 'Users and teams',
    summary: "List a team's members",
    parameters: [ids.team],
    paged: true,
    success: list('members', pages.members),
  },
  {
    method: 'PUT',
    path: '/api/v1/teams/{id}/members/{userId}',
    operationId: 'addTeamMember',
    tag: 'Users and teams',
    summary: 'Add a member',
    description: "Idempotent: adding a member twice is not an error. The new member gets the team's grants.",
    parameters: [ids.team, ids.user],
    success: [
      { status: 201, description: 'Added.', schema: views.member },
      { status: 200, description: 'Already a member.', schema: views.member },
    ],
    errors: { 403: 'Needs iam.manage on the platform.', 409: 'The team is full or changed meanwhile; retry.' },
  },
  {
    method: 'DELETE',
    path: '/api/v1/teams/{id}/members/{userId}',
    operationId: 'removeTeamMember',
    tag: 'Users and teams',
    summary: 'Remove a member',
    parameters: [ids.team, ids.user],
    success: [{ status: 204, description: 'Removed.' }],
    errors: { 403: 'Needs iam.manage on the platform.', 409: 'The team changed meanwhile; retry.' },
  },

  {
    method: 'GET',
    path: '/api/v1/roles',
    operationId: 'listRoles',
    tag: 'Roles and bindings',
    summary: 'List roles',
    description: 'The built-in roles and their permissions.',
    success: [{ status: 200, description: 'Every role, in one page.', schema: pages.roles }],
  },
  {
    method: 'GET',
    path: '/api/v1/bindings',
    operationId: 'listBindings',
    tag: 'Roles and bindings',
    summary: 'List role bindings',
    parameters: [
      {
        name: 'subject',
        in: 'query',
        schema: z.string().check(z.regex(/^(user|team):.+$/)),
        description: 'Only the bindings of `user:<id>` or `team:<id>`.',
      },
    ],
    paged: true,
    success: list('role bindings', pages.bindings),
    errors: { 403: 'Needs a role binding somewhere.' },
  },
  {
    method: 'POST',
    path: '/api/v1/roles/bind',
    operationId: 'createBinding',
    tag: 'Roles and bindings',
    summary: 'Give a role on a scope to a user or team',
    description: 'No escalation: you need iam.manage and every permission of the role on that scope.',
    body: { schema: newBinding },
    idempotencyKey: true,
    success: made(views.binding),
    errors: {
      403: 'You may not grant this role on this scope.',
      404: 'The scope or subject does not exist (users appear after their first signed-in call).',
      409: 'The subject already has this role on this scope.',
    },
  },
  {
    method: 'DELETE',
    path: '/api/v1/bindings/{id}',
    operationId: 'deleteBinding',
    tag: 'Roles and bindings',
    summary: 'Remove a role binding',
    parameters: [ids.binding],
    success: gone,
    errors: { 403: 'Needs the same rights as granting it.', 409: 'The team changed meanwhile; retry.' },
  },
];
