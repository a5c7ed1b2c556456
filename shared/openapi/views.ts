/**
 * Response bodies, as zod/mini schemas, for the OpenAPI document only. The API functions never
 * import this module (they shape responses from their catalog types), so their bundles stay small.
 */
import * as z from 'zod/mini';
import { PERMISSIONS, ROLE_NAMES } from '../auth/roles.ts';
import { newApp } from '../domain/app.ts';
import { clusterAuth, newCluster } from '../domain/cluster.ts';
import { newEnv, protection } from '../domain/environment.ts';
import { dnsLabel, resourceId } from '../domain/fields.ts';
import { newBinding, newTeam, userId } from '../domain/identity.ts';
import { newProject } from '../domain/project.ts';

const timestamp = z.iso.datetime();
const version = z.int().check(z.minimum(1), z.describe('Goes up by one on every change; the ETag is "v<version>".'));

/** What every stored resource shows besides its own fields (see `stamp` in shared/store/records.ts). */
const stamped = { version, created_at: timestamp, updated_at: timestamp, created_by: userId };

export const project = z.object({ id: resourceId('prj'), ...newProject.shape, ...stamped });

export const app = z.object({ id: resourceId('app'), ...newApp.shape, ...stamped });

/** Environments are named within their app: the id is the name. Defaults are filled in on create. */
export const env = z.object({
  id: dnsLabel,
  ...newEnv.shape,
  protection,
  order: z.int().check(z.minimum(0), z.maximum(100)),
  app_id: resourceId('app'),
  project_id: resourceId('prj'),
  ...stamped,
});

const [eksIamAuth] = clusterAuth._zod.def.options;
/** The token mode never shows its secret reference, only that one is set. */
const shownAuth = z.discriminatedUnion('mode', [
  eksIamAuth,
  z.object({ mode: z.literal('token'), token_configured: z.literal(true) }),
]);
export const cluster = z.object({ id: resourceId('cls'), ...newCluster.shape, auth: shownAuth, ...stamped });

export const team = z.object({
  id: resourceId('team'),
  ...newTeam.shape,
  member_count: z.int().check(z.minimum(0)),
  ...stamped,
});

export const member = z.object({ team_id: resourceId('team'), user_id: userId, added_by: userId, added_at: timestamp });

export const binding = z.object({
  id: resourceId('bnd'),
  ...newBinding.shape,
  scope_path: z
    .string()
    .check(z.describe('The scope as a path: platform, project/<id>, project/<id>/app/<id>[/env/<name>].')),
  ...stamped,
});

export const user = z.object({
  id: userId,
  name: z.string(),
  email: z.nullable(z.string()),
  groups: z.array(z.string()),
  created_at: timestamp,
});

const grant = z.object({
  role: z.enum(ROLE_NAMES),
  scope: z.string(),
  via: z.optional(resourceId('team').check(z.describe('The team the grant comes through, if any.'))),
});
export const me = z.object({ ...user.shape, grants: z.array(grant) });

export const role = z.object({
  name: z.enum(ROLE_NAMES),
  description: z.string(),
  permissions: z.array(z.enum(PERMISSIONS)),
});

/** Every list answers a page; `next_cursor` is null on the last one. */
export const page = <T extends z.ZodMiniType>(item: T) =>
  z.object({
    items: z.array(item),
    next_cursor: z.nullable(z.string().check(z.describe('Pass as `cursor` to read the next page.'))),
  });

/** RFC 9457 problem details (shared/http/problem.ts). */
export const problem = z.object({
  type: z.url(),
  title: z.string(),
  status: z.int().check(z.minimum(400), z.maximum(599)),
  detail: z.optional(z.string()),
  instance: z.string().check(z.describe('The request id: quote it when reporting a problem.')),
  invalid_params: z.optional(z.array(z.object({ name: z.string(), reason: z.string() }))),
});

/** API Gateway's own answer when the JWT authorizer refuses a token (it never reaches a function). */
export const gatewayError = z.object({ message: z.string() });

export const health = z.object({
  status: z.literal('ok'),
  service: z.literal('slipway'),
  version: z.optional(z.string()),
});
