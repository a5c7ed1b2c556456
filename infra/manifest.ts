/**
 * Routes and functions, declared once. `infra/aws` turns this into NodejsFunctions and HTTP API
 * routes; `infra/local` turns it into the local gateway's routing table. Handlers never read it.
 */

export type FunctionName = 'projects' | 'apps' | 'clusters' | 'identity' | 'meta';

export interface FunctionSpec {
  name: FunctionName;
  /** Module (relative to the repository root) that exports `handler`. */
  entry: string;
  description: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** Least privilege on the one table. */
  tableAccess: 'none' | 'read' | 'readwrite';
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteSpec {
  method: HttpMethod;
  /** API Gateway path template, e.g. `/api/v1/projects/{id}`. */
  path: string;
  function: FunctionName;
  /** Public routes skip the JWT authorizer (health, OpenAPI, docs, later webhooks). */
  public?: boolean;
}

export const API_BASE = '/api/v1';

export const functions: readonly FunctionSpec[] = [
  {
    name: 'projects',
    entry: 'functions/projects/handler.ts',
    description: 'Projects API',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
  },
  {
    name: 'apps',
    entry: 'functions/apps/handler.ts',
    description: 'Applications and environments API',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
  },
  {
    name: 'clusters',
    entry: 'functions/clusters/handler.ts',
    description: 'Clusters API',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
  },
  {
    name: 'identity',
    entry: 'functions/identity/handler.ts',
    description: 'Users, teams, roles and role bindings API',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
  },
  {
    name: 'meta',
    entry: 'functions/meta/handler.ts',
    description: 'Health, OpenAPI document and rendered docs',
    memoryMb: 256,
    timeoutSeconds: 5,
    tableAccess: 'none',
  },
];

const r = (method: HttpMethod, path: string, fn: FunctionName, isPublic = false): RouteSpec => ({
  method,
  path: path.startsWith('/api') || path.startsWith('/docs') ? path : `${API_BASE}${path}`,
  function: fn,
  ...(isPublic ? { public: true } : {}),
});

export const routes: readonly RouteSpec[] = [
  r('GET', '/health', 'meta', true),
  r('GET', '/openapi.json', 'meta', true),
  r('GET', '/docs', 'meta', true),

  r('GET', '/projects', 'projects'),
  r('POST', '/projects', 'projects'),
  r('GET', '/projects/{id}', 'projects'),
  r('PUT', '/projects/{id}', 'projects'),
  r('PATCH', '/projects/{id}', 'projects'),
  r('DELETE', '/projects/{id}', 'projects'),

  r('GET', '/apps', 'apps'),
  r('POST', '/apps', 'apps'),
  r('GET', '/apps/{id}', 'apps'),
  r('PUT', '/apps/{id}', 'apps'),
  r('PATCH', '/apps/{id}', 'apps'),
  r('DELETE', '/apps/{id}', 'apps'),
  r('GET', '/apps/{id}/envs', 'apps'),
  r('POST', '/apps/{id}/envs', 'apps'),
  r('GET', '/apps/{id}/envs/{env}', 'apps'),
  r('PATCH', '/apps/{id}/envs/{env}', 'apps'),
  r('DELETE', '/apps/{id}/envs/{env}', 'apps'),

  r('GET', '/clusters', 'clusters'),
  r('POST', '/clusters', 'clusters'),
  r('GET', '/clusters/{id}', 'clusters'),
  r('PATCH', '/clusters/{id}', 'clusters'),
  r('DELETE', '/clusters/{id}', 'clusters'),

  r('GET', '/users', 'identity'),
  r('GET', '/users/me', 'identity'),
  r('GET', '/teams', 'identity'),
  r('POST', '/teams', 'identity'),
  r('GET', '/teams/{id}', 'identity'),
  r('DELETE', '/teams/{id}', 'identity'),
  r('GET', '/teams/{id}/members', 'identity'),
  r('PUT', '/teams/{id}/members/{userId}', 'identity'),
  r('DELETE', '/teams/{id}/members/{userId}', 'identity'),
  r('GET', '/roles', 'identity'),
  r('GET', '/bindings', 'identity'),
  r('POST', '/roles/bind', 'identity'),
  r('DELETE', '/bindings/{id}', 'identity'),
];

/** `GET /api/v1/projects/{id}`: the API Gateway route key. */
export const routeKey = (route: RouteSpec): string => `${route.method} ${route.path}`;
