/**
 * Every API operation, described once for the OpenAPI document: the request schemas are the
 * ones the handlers validate with, the response schemas are in views.ts. Paths and methods
 * match infra/manifest.ts (test/unit/openapi.test.ts holds them to it).
 */
import * as z from 'zod/mini';
import { appChanges, newApp } from '../../domain/app.ts';
import { checkpointRequest } from '../../domain/audit.ts';
import { newBuild } from '../../domain/build.ts';
import { channelPatch, MAX_CHANNELS_PER_PROJECT, newChannel } from '../../domain/channel.ts';
import { clusterChanges, newCluster } from '../../domain/cluster.ts';
import {
  APPROVAL_STATES,
  approvalDecision,
  cancelRequest,
  deployRequest,
  newDeployment,
  newRollback,
  promoteRequest,
} from '../../domain/deployment.ts';
import { doraQuery } from '../../domain/dora.ts';
import { envChanges, envTier, newEnv } from '../../domain/environment.ts';
import { dnsLabel, resourceId } from '../../domain/fields.ts';
import { freezeChanges, newFreeze } from '../../domain/freeze.ts';
import { newBinding, newTeam, userId } from '../../domain/identity.ts';
import { newPipeline, pipelineChanges } from '../../domain/pipeline.ts';
import { newProject, projectChanges } from '../../domain/project.ts';
import { runRequest } from '../../domain/run.ts';
import { newSchedule, scheduleChanges } from '../../domain/schedule.ts';
import { newWebhook, rotateWebhook } from '../../domain/webhook.ts';
import * as views from './views.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 422 | 428 | 429 | 503;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  description: string;
  schema: z.ZodMiniType;
}

export type MediaType = 'application/json' | 'text/html' | 'text/plain' | 'text/event-stream' | 'image/svg+xml';

export interface Success {
  status: 200 | 201 | 202 | 204;
  description: string;
  /** Absent for 204. */
  schema?: z.ZodMiniType;
  /** Default application/json; several when the answer follows Accept (the same schema each). */
  mediaType?: MediaType | MediaType[];
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
  /**
   * A PATCH body is an RFC 7396 merge patch of `schema`; the merged result must satisfy it.
   * `yaml`: also taken as `application/yaml` (the same document in YAML).
   */
  body?: { schema: z.ZodMiniType; mergePatch?: true; yaml?: true };
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
  {
    name: 'Deployments',
    description:
      'A deployment puts an image on an environment; a rollback puts back an earlier release. Both answer 202 at once and run as a workflow: poll the status URL until `final`.',
  },
  {
    name: 'Approvals',
    description: "A protected environment's deployments wait for its approvers: they approve or reject here.",
  },
  {
    name: 'Builds',
    description:
      'A build turns a commit of an application into `<image_repository>:<sha>` with a Kubernetes Job on its build cluster; it answers 202 at once, and its log can be read while it runs.',
  },
  {
    name: 'Audit',
    description: 'Every change, once, in a hash chain per subject: list it newest first, or verify a chain.',
  },
  {
    name: 'Pipelines',
    description:
      'A pipeline takes a commit of an application through a build (one image, by digest) and deploy stages to its environments. Definitions are JSON or YAML and versioned; a run records the version it ran. Runs answer 202 at once: follow `GET /runs/{id}` until its state is final.',
  },
  {
    name: 'Chat',
    description:
      'Approve, reject and ask from Slack, Feishu/Lark, DingTalk and WeCom: the public callback routes the platforms post to (their signature is the authentication), and the links between chat users and Slipway users.',
  },
  {
    name: 'Webhooks',
    description:
      "GitHub and GitLab deliveries start pipeline runs: an application's endpoints (each with its own secret, shown once), the public route providers post to, and the delivery log.",
  },
  {
    name: 'Channels',
    description:
      "A project's own chat channels (Slack, Feishu/Lark, DingTalk, WeCom), besides the platform-wide ones: each gets the project's change events its filters let through. Webhook URLs and signing secrets are kept in Secrets Manager and never shown again.",
  },
  {
    name: 'Metrics',
    description:
      'The four DORA metrics of a project, an application or an environment, with their performance bands: as JSON, or drawn as an SVG chart to open in a browser or embed in a wiki.',
  },
  {
    name: 'Schedules',
    description:
      'A deploy, promotion or rollback of one environment, once at an instant or on a cron recurrence in a time zone (standard 5 fields: minute hour day-of-month month day-of-week; not AWS’s 6). Each fire acts as the schedule’s owner with their rights at that moment and goes through everything a deploy goes through (lock queue, approvals, freezes); a fire is made once per fire time.',
  },
  {
    name: 'Freezes',
    description:
      'Windows when a scope (the platform, a project, an app, one environment) takes no deploys: one-off (two instants) or recurring (a standard 5-field cron start in an IANA time zone, plus a duration; at most 30 days). Checked when a deploy is asked for and again just before it is applied: a deployment that waited into a freeze fails `frozen` (ADR 25). Rollbacks pass unless `allow_rollbacks` is false; `override_freeze: { reason }` with freeze.override (admins) goes ahead, and is told in audit and chat.',
  },
] as const;

export type Tag = (typeof tags)[number]['name'];

const pages = {
  projects: views.page(views.project),
  apps: views.page(views.app),
  envs: views.page(views.env),
  environments: views.page(views.environmentRow),
  clusters: views.page(views.cluster),
  teams: views.page(views.team),
  members: views.page(views.member),
  bindings: views.page(views.binding),
  users: views.page(views.user),
  roles: views.page(views.role),
  audit: views.page(views.auditEntry),
  deployments: views.page(views.deployment),
  releases: views.page(views.release),
  approvals: views.page(views.approval),
  builds: views.page(views.build),
  pipelines: views.page(views.pipeline),
  runs: views.page(views.run),
  webhooks: views.page(views.webhook),
  deliveries: views.page(views.delivery),
  schedules: views.page(views.schedule),
  fires: views.page(views.fire),
  freezes: views.page(views.freeze),
  chatLinks: views.page(views.chatLink),
  channels: views.page(views.channel),
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
  DeployRequest: deployRequest,
  NewDeployment: newDeployment,
  NewRollback: newRollback,
  PromoteRequest: promoteRequest,
  ApprovalDecision: approvalDecision,
  CancelRequest: cancelRequest,
  CheckpointRequest: checkpointRequest,
  NewPipeline: newPipeline,
  PipelineDefinition: pipelineChanges,
  RunRequest: runRequest,
  Project: views.project,
  ProjectPage: pages.projects,
  App: views.app,
  AppPage: pages.apps,
  Env: views.env,
  EnvWithRelease: views.envWithRelease,
  EnvPage: pages.envs,
  EnvironmentRow: views.environmentRow,
  EnvironmentPage: pages.environments,
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
  AuditEntry: views.auditEntry,
  AuditPage: pages.audit,
  ChainReport: views.chainReport,
  AuditFinding: views.auditFinding,
  CheckpointRequested: views.checkpointRequest,
  Checkpoint: views.checkpoint,
  Deployment: views.deployment,
  DeploymentPage: pages.deployments,
  DeploymentStatus: views.deploymentStatus,
  Release: views.release,
  ReleasePage: pages.releases,
  Approval: views.approval,
  ApprovalPage: pages.approvals,
  NewBuild: newBuild,
  Build: views.build,
  BuildPage: pages.builds,
  Pipeline: views.pipeline,
  PipelinePage: pages.pipelines,
  Run: views.run,
  RunPage: pages.runs,
  NewWebhook: newWebhook,
  RotateWebhook: rotateWebhook,
  Webhook: views.webhook,
  WebhookWithSecret: views.webhookWithSecret,
  WebhookPage: pages.webhooks,
  Delivery: views.delivery,
  DeliveryPage: pages.deliveries,
  NewChannel: newChannel,
  ChannelPatch: channelPatch,
  Channel: views.channel,
  ChannelPage: pages.channels,
  ChannelTestResult: views.channelTest,
  DoraReport: views.doraReport,
  NewSchedule: newSchedule,
  ScheduleChanges: scheduleChanges,
  Schedule: views.schedule,
  SchedulePage: pages.schedules,
  Fire: views.fire,
  FirePage: pages.fires,
  NewFreeze: newFreeze,
  FreezeChanges: freezeChanges,
  Freeze: views.freeze,
  FreezePage: pages.freezes,
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
  deployment: path('id', resourceId('dep'), 'Deployment id.'),
  approval: path('id', resourceId('apr'), 'Approval id.'),
  build: path('id', resourceId('bld'), 'Build id.'),
  pipeline: path('id', resourceId('pln'), 'Pipeline id.'),
  run: path('id', resourceId('run'), 'Run id.'),
  hook: path('hook_id', resourceId('hook'), 'Webhook endpoint id.'),
  schedule: path('id', resourceId('sch'), 'Schedule id.'),
  freeze: path('id', resourceId('frz'), 'Freeze id.'),
  channel: path('channel_id', resourceId('chn'), 'Chat channel id.'),
  env: path('env', dnsLabel, 'Environment name.'),
  user: path('userId', userId, 'User id: the `sub` claim of their tokens.'),
  chatLink: path('link', z.string().check(z.regex(/^lnk_[0-9a-f]{26}$/)), 'Chat link id.'),
};

const auditQuery = {
  subject: {
    name: 'subject',
    in: 'query',
    schema: z.string().check(z.regex(/^[a-z]+\/.{1,600}$/)),
    description:
      'One subject’s chain, `<kind>/<id>`: project/prj_…, app/app_…, env/app_…/prod, cluster/cls_…, user/<sub>.',
  },
  actor: {
    name: 'actor',
    in: 'query',
    schema: userId,
    description: 'Changes made by this user (`sub`), or `slipway`.',
  },
  project_id: {
    name: 'project_id',
    in: 'query',
    schema: resourceId('prj'),
    description: 'Changes to the project and everything in it.',
  },
} satisfies Record<string, Parameter>;

const list = (schema: z.ZodMiniType): Success[] => [{ status: 200, description: 'A page.', schema }];
const read = (schema: z.ZodMiniType): Success[] => [{ status: 200, description: 'The resource.', schema, etag: true }];
const made = (schema: z.ZodMiniType): Success[] => [
  { status: 201, description: 'Created.', schema, etag: true, location: true },
];
const changed = (schema: z.ZodMiniType): Success[] => [{ status: 200, description: 'Changed.', schema, etag: true }];
const gone: Success[] = [{ status: 204, description: 'Deleted.' }];

/** The shapes every create, replace, merge patch and delete shares (see functions/*\/handler.ts). */
const create = (schema: z.ZodMiniType, view: z.ZodMiniType) =>
  ({ body: { schema }, idempotencyKey: true, success: made(view) }) as const;
const replace = (schema: z.ZodMiniType, view: z.ZodMiniType) =>
  ({
    description: 'Replaces every changeable field: fields left out are cleared.',
    body: { schema },
    ifMatch: true,
    success: changed(view),
  }) as const;
const patch = (schema: z.ZodMiniType, view: z.ZodMiniType) =>
  ({
    description: 'RFC 7396 merge patch: send only what changes; `null` removes an optional field.',
    body: { schema, mergePatch: true },
    ifMatch: true,
    success: changed(view),
  }) as const;
const remove = { ifMatch: true, success: gone } as const;
/** Deploys and rollbacks run as workflows: the answer is the queued deployment and where to watch it. */
const start = (schema: z.ZodMiniType): Details => ({
  body: { schema },
  idempotencyKey: true,
  success: [
    {
      status: 202,
      description: 'Accepted: the deployment is queued. Location is its status URL.',
      schema: views.deployment,
      location: true,
    },
  ],
});
/** A vote: every POST may carry an Idempotency-Key (shared/http/api.ts), so a retried vote is replayed. */
const vote = (summary: string): Details => ({
  parameters: [ids.approval],
  body: { schema: approvalDecision },
  idempotencyKey: true,
  success: [{ status: 200, description: summary, schema: views.approval }],
  errors: {
    403: 'Only members of the approver teams decide (without teams: approval.decide on the environment); self-approval may be forbidden.',
    404: 'The approval does not exist, or you cannot see its application.',
    409: 'The approval is closed (`approval-closed`), you already voted (`already-voted`), or a vote landed at the same moment (`concurrent-vote`).',
  },
});
/** A run is long work: the answer is the queued run, whose URL is also its status. */
const runStarted = (description: string): Success[] => [
  { status: 202, description: `${description} Location is the run.`, schema: views.run, location: true },
];
const definitionErrors = {
  400: 'The definition does not parse (YAML: the line and column are named), or its stages do not fit together: unknown keys, a `needs` naming no stage or forming a cycle, not exactly one build stage, a deploy stage not waiting for the build.',
  413: 'The document is over the size limit.',
  422: 'A deploy stage names an environment the application does not have (`unknown-environment`).',
};
/** A freeze in force refuses deploys (and, unless it allows them, rollbacks) at request time. */
const freezeErrors = {
  400: '`override_freeze` without a `reason`.',
  409: 'A freeze is in force (`frozen`): the problem names it and when it ends (`freeze: { id, name, ends_at }`). Send `override_freeze: { reason }` with freeze.override to go ahead.',
};
const deployErrors = {
  ...freezeErrors,
  403: 'Needs deployment.create on the environment (and freeze.override with `override_freeze`).',
  404: 'The application or environment does not exist, or you cannot see it.',
  422: "The image is not from the application's image repository (`image-repository-mismatch`).",
};

const doraDescription =
  'Deployment frequency (successful deploys), lead time for changes (commit time → successful deploy, for deploys that name their commit or come from a pipeline run whose commit has `committed_at`), change failure rate (deploys that failed, rolled back, or were replaced by a rollback within `rollback_window_hours`, over the deploys that reached the cluster) and failed deployment recovery time (a failed or rolled-back deployment → the next success in that environment). Counted per UTC day when each deployment ends; bands after the DORA 2023 report.';
const dora = doraQuery.shape;
const doraParameters: Parameter[] = [
  { name: 'project_id', in: 'query', schema: dora.project_id, description: 'The project (or give app_id).' },
  {
    name: 'app_id',
    in: 'query',
    schema: dora.app_id,
    description: 'One application; with project_id, it must be in it.',
  },
  { name: 'env', in: 'query', schema: dora.env, description: 'Only this environment (by name, across the apps).' },
  { name: 'from', in: 'query', schema: dora.from, description: 'First UTC day (default: 29 days before `to`).' },
  { name: 'to', in: 'query', schema: dora.to, description: 'Last UTC day, included (default: today).' },
  {
    name: 'interval',
    in: 'query',
    schema: dora.interval,
    description: 'The series’ periods (ISO weeks, calendar months).',
  },
];
const doraErrors = {
  400: '`from` after `to`, a range over 366 days, an unknown interval or parameter, neither project_id nor app_id, or an app_id of another project than project_id.',
  403: 'Needs metrics.read on the project (or the application, or the environment).',
  404: 'The project or application does not exist, or you cannot see it.',
};

/** A public chat callback route: the platform's signature is the authentication; its answer is in the platform's format. */
const chatCallback = (
  route: `${Method} /${string}`,
  operationId: string,
  summary: string,
  description: string,
  mediaType: MediaType = 'application/json',
): Untagged =>
  op(route, operationId, summary, {
    public: true,
    description: `${description} A retried delivery answers what the first did and never votes twice.`,
    success: [
      {
        status: 200,
        description: 'Handled; the reply is for the person who acted.',
        schema: mediaType === 'text/plain' ? z.string() : views.chatAnswer,
        mediaType,
      },
    ],
    errors: {
      400: 'Verified, but not a callback this route handles.',
      401: 'A missing or wrong signature, a stale timestamp, or a body that does not decrypt: nothing is decided.',
    },
  });

type Details = Omit<Operation, 'method' | 'path' | 'operationId' | 'tag' | 'summary'>;
type Untagged = Omit<Operation, 'tag'>;

/** `op('GET /api/v1/projects', ...)`: the route key as in the manifest and the handlers. */
function op(route: `${Method} /${string}`, operationId: string, summary: string, details: Details): Untagged {
  const [method, path] = route.split(' ') as [Method, string];
  return { method, path, operationId, summary, ...details };
}
const section = (tag: Tag, ...entries: Untagged[]): Operation[] => entries.map((entry) => ({ ...entry, tag }));

export const operations: readonly Operation[] = [
  ...section(
    'Meta',
    op('GET /api/v1/health', 'getHealth', 'Health check', {
      public: true,
      success: [{ status: 200, description: 'Up.', schema: views.health }],
    }),
    op('GET /api/v1/openapi.json', 'getOpenApiDocument', 'This API as an OpenAPI 3.1 document', {
      public: true,
      success: [{ status: 200, description: 'The document.', schema: z.looseObject({ openapi: z.literal('3.1.0') }) }],
    }),
    op('GET /docs', 'getDocs', 'This documentation as one HTML page', {
      public: true,
      success: [{ status: 200, description: 'The page.', schema: z.string(), mediaType: 'text/html' }],
    }),
  ),
  ...section(
    'Projects',
    op('GET /api/v1/projects', 'listProjects', 'List projects', {
      description: 'Every project for platform-wide readers; otherwise the projects you hold a role on.',
      paged: true,
      success: list(pages.projects),
    }),
    op('POST /api/v1/projects', 'createProject', 'Create a project', {
      ...create(newProject, views.project),
      errors: { 403: 'Needs project.create on the platform.', 409: 'The name is taken.' },
    }),
    op('GET /api/v1/projects/{id}', 'getProject', 'Get a project', {
      parameters: [ids.project],
      success: read(views.project),
    }),
    op('PUT /api/v1/projects/{id}', 'replaceProject', 'Replace a project', {
      parameters: [ids.project],
      ...replace(projectChanges, views.project),
      errors: { 403: 'Needs project.update.' },
    }),
    op('PATCH /api/v1/projects/{id}', 'updateProject', 'Update a project', {
      parameters: [ids.project],
      ...patch(projectChanges, views.project),
      errors: { 403: 'Needs project.update.' },
    }),
    op('DELETE /api/v1/projects/{id}', 'deleteProject', 'Delete a project', {
      parameters: [ids.project],
      ...remove,
      errors: { 403: 'Needs project.delete.', 409: 'The project still has applications.' },
    }),
  ),
  ...section(
    'Applications',
    op('GET /api/v1/apps', 'listApps', 'List applications', {
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
      success: list(pages.apps),
      errors: { 404: 'The project does not exist or you cannot see it.' },
    }),
    op('POST /api/v1/apps', 'createApp', 'Create an application', {
      ...create(newApp, views.app),
      errors: {
        403: 'Needs app.create on the project.',
        404: 'The project does not exist or you cannot see it.',
        409: 'The name is taken in this project.',
      },
    }),
    op('GET /api/v1/apps/{id}', 'getApp', 'Get an application', { parameters: [ids.app], success: read(views.app) }),
    op('PUT /api/v1/apps/{id}', 'replaceApp', 'Replace an application', {
      parameters: [ids.app],
      ...replace(appChanges, views.app),
      errors: { 403: 'Needs app.update.' },
    }),
    op('PATCH /api/v1/apps/{id}', 'updateApp', 'Update an application', {
      parameters: [ids.app],
      ...patch(appChanges, views.app),
      errors: { 403: 'Needs app.update.' },
    }),
    op('DELETE /api/v1/apps/{id}', 'deleteApp', 'Delete an application', {
      parameters: [ids.app],
      ...remove,
      errors: { 403: 'Needs app.delete.', 409: 'The application still has environments.' },
    }),
  ),
  ...section(
    'Environments',
    op('GET /api/v1/apps/{id}/envs', 'listEnvs', "List an application's environments", {
      description: 'In promotion order (`order`: dev, staging, prod).',
      parameters: [ids.app],
      paged: true,
      success: list(pages.envs),
    }),
    op('GET /api/v1/environments', 'listEnvironments', 'List every environment you can read, across apps', {
      description:
        'The release calendar at a glance: each row shows its app, cluster and namespace, tier, what runs there now, the freeze in force and the next one, and the next scheduled fire. Sorted by project, app and name; only the environments you hold env.read on.',
      parameters: [
        { name: 'project_id', in: 'query', schema: resourceId('prj'), description: 'Only this project’s.' },
        { name: 'cluster_id', in: 'query', schema: resourceId('cls'), description: 'Only those on this cluster.' },
        { name: 'tier', in: 'query', schema: envTier, description: 'Only this tier.' },
      ],
      paged: true,
      success: list(pages.environments),
      errors: { 400: 'A malformed filter.' },
    }),
    op('POST /api/v1/apps/{id}/envs', 'createEnv', 'Create an environment', {
      parameters: [ids.app],
      ...create(newEnv, views.env),
      errors: {
        403: 'Needs env.create on the application.',
        409: 'An environment of that name exists.',
        422: 'The cluster or an approver team does not exist.',
      },
    }),
    op('GET /api/v1/apps/{id}/envs/{env}', 'getEnv', 'Get an environment', {
      description:
        'With `current_release` (what runs there now: the last release that succeeded), the freeze in force (`active_freeze`), the next one (`next_freeze`) and the next scheduled fire (`next_fire`).',
      parameters: [ids.app, ids.env],
      success: read(views.envWithRelease),
    }),
    op('PATCH /api/v1/apps/{id}/envs/{env}', 'updateEnv', 'Update an environment', {
      parameters: [ids.app, ids.env],
      ...patch(envChanges, views.env),
      errors: { 403: 'Needs env.update.', 422: 'The cluster or an approver team does not exist.' },
    }),
    op('DELETE /api/v1/apps/{id}/envs/{env}', 'deleteEnv', 'Delete an environment', {
      parameters: [ids.app, ids.env],
      ...remove,
      errors: { 403: 'Needs env.delete.' },
    }),
  ),
  ...section(
    'Clusters',
    op('GET /api/v1/clusters', 'listClusters', 'List clusters', {
      paged: true,
      success: list(pages.clusters),
      errors: { 403: 'Needs a role binding somewhere.' },
    }),
    op('POST /api/v1/clusters', 'createCluster', 'Register a cluster', {
      ...create(newCluster, views.cluster),
      description:
        'A token is referenced by its Secrets Manager ARN and never shown: reads answer `token_configured: true`.',
      errors: { 403: 'Needs cluster.create on the platform.', 409: 'The name is taken.' },
    }),
    op('GET /api/v1/clusters/{id}', 'getCluster', 'Get a cluster', {
      parameters: [ids.cluster],
      success: read(views.cluster),
    }),
    op('PATCH /api/v1/clusters/{id}', 'updateCluster', 'Update a cluster', {
      parameters: [ids.cluster],
      ...patch(clusterChanges, views.cluster),
      description:
        'RFC 7396 merge patch: send only what changes; `null` removes an optional field. `auth` is replaced whole.',
      errors: { 403: 'Needs cluster.update on the platform.' },
    }),
    op('DELETE /api/v1/clusters/{id}', 'deleteCluster', 'Delete a cluster', {
      parameters: [ids.cluster],
      ...remove,
      errors: { 403: 'Needs cluster.delete on the platform.', 409: 'Environments are still placed on the cluster.' },
    }),
  ),
  ...section(
    'Users and teams',
    op('GET /api/v1/users', 'listUsers', 'List users', {
      description: 'Users appear on their first signed-in call.',
      paged: true,
      success: list(pages.users),
      errors: { 403: 'Needs a role binding somewhere.' },
    }),
    op('GET /api/v1/users/me', 'getCurrentUser', 'Who am I', {
      description: 'You, with every grant that applies to you: direct, through teams, and from admin groups.',
      success: [{ status: 200, description: 'You.', schema: views.me }],
    }),
    op('POST /api/v1/users/me/chat-links', 'createChatLinkCode', 'Get a one-time chat link code', {
      description:
        'A code valid 10 minutes, shown once: send `/slipway link <code>` (or `link <code>` as a direct message) to the Slipway app in your chat, and that chat account acts as you. An Idempotency-Key replay answers the expiry without the code.',
      idempotencyKey: true,
      success: [{ status: 200, description: 'The code (not a resource: nothing to GET).', schema: views.linkCode }],
    }),
    op('GET /api/v1/users/me/chat-links', 'listChatLinks', 'List your chat links', {
      paged: true,
      success: list(pages.chatLinks),
    }),
    op('DELETE /api/v1/users/me/chat-links/{link}', 'deleteChatLink', 'Remove one of your chat links', {
      parameters: [ids.chatLink],
      success: gone,
    }),
    op('DELETE /api/v1/users/{sub}/chat-links/{link}', 'deleteUserChatLink', "Remove anyone's chat link", {
      parameters: [path('sub', userId, 'User id: the `sub` claim of their tokens.'), ids.chatLink],
      success: gone,
      errors: { 403: 'Needs iam.manage on the platform.' },
    }),
    op('GET /api/v1/teams', 'listTeams', 'List teams', {
      paged: true,
      success: list(pages.teams),
      errors: { 403: 'Needs a role binding somewhere.' },
    }),
    op('POST /api/v1/teams', 'createTeam', 'Create a team', {
      ...create(newTeam, views.team),
      errors: { 403: 'Needs iam.manage on the platform.', 409: 'The name is taken.' },
    }),
    op('GET /api/v1/teams/{id}', 'getTeam', 'Get a team', { parameters: [ids.team], success: read(views.team) }),
    op('DELETE /api/v1/teams/{id}', 'deleteTeam', 'Delete a team', {
      parameters: [ids.team],
      ...remove,
      errors: { 403: 'Needs iam.manage on the platform.', 409: 'The team still has members or role bindings.' },
    }),
    op('GET /api/v1/teams/{id}/members', 'listTeamMembers', "List a team's members", {
      parameters: [ids.team],
      paged: true,
      success: list(pages.members),
    }),
    op('PUT /api/v1/teams/{id}/members/{userId}', 'addTeamMember', 'Add a member', {
      description: "Idempotent: adding a member twice is not an error. The new member gets the team's grants.",
      parameters: [ids.team, ids.user],
      success: [
        { status: 201, description: 'Added.', schema: views.member },
        { status: 200, description: 'Already a member.', schema: views.member },
      ],
      errors: { 403: 'Needs iam.manage on the platform.', 409: 'The team is full, or changed meanwhile: retry.' },
    }),
    op('DELETE /api/v1/teams/{id}/members/{userId}', 'removeTeamMember', 'Remove a member', {
      parameters: [ids.team, ids.user],
      success: [{ status: 204, description: 'Removed.' }],
      errors: { 403: 'Needs iam.manage on the platform.', 409: 'The team changed meanwhile: retry.' },
    }),
  ),
  ...section(
    'Roles and bindings',
    op('GET /api/v1/roles', 'listRoles', 'List roles', {
      description: 'The built-in roles and their permissions, in one page.',
      success: list(pages.roles),
    }),
    op('GET /api/v1/bindings', 'listBindings', 'List role bindings', {
      parameters: [
        {
          name: 'subject',
          in: 'query',
          schema: z.string().check(z.regex(/^(user|team):.+$/)),
          description: 'Only the bindings of `user:<id>` or `team:<id>`.',
        },
      ],
      description:
        'Only bindings on scopes where you hold iam.read: a page may hold fewer than `limit`; follow `next_cursor` to the end.',
      paged: true,
      success: list(pages.bindings),
      errors: { 403: 'Needs a role binding somewhere.' },
    }),
    op('POST /api/v1/roles/bind', 'createBinding', 'Give a role on a scope to a user or team', {
      ...create(newBinding, views.binding),
      description: 'No escalation: you need iam.manage and every permission of the role on that scope.',
      errors: {
        403: 'You may not grant this role on this scope.',
        404: 'The scope or subject does not exist (users appear after their first signed-in call).',
        409: 'The subject already has this role on this scope.',
      },
    }),
    op('DELETE /api/v1/bindings/{id}', 'deleteBinding', 'Remove a role binding', {
      parameters: [ids.binding],
      success: gone,
      errors: { 403: 'Needs the same rights as granting it.', 409: 'The team changed meanwhile: retry.' },
    }),
  ),
  ...section(
    'Deployments',
    op('POST /api/v1/apps/{id}/deploy', 'deployApp', 'Deploy an image to an environment', {
      description:
        '`image` is a tag, a digest or a full reference in the application’s image repository. Replicas and strategy default to the current release’s. One deployment runs per environment at a time; later ones queue.',
      parameters: [ids.app],
      ...start(deployRequest),
      errors: deployErrors,
    }),
    op('GET /api/v1/deployments', 'listDeployments', "List an application's deployments", {
      description: 'Newest first. `app_id` is required (400 without).',
      parameters: [
        { name: 'app_id', in: 'query', schema: resourceId('app'), description: 'The application (required).' },
        { name: 'env', in: 'query', schema: dnsLabel, description: 'Only the deployments to this environment.' },
      ],
      paged: true,
      success: list(pages.deployments),
      errors: { 400: 'No `app_id`.', 404: 'The application does not exist or you cannot see it.' },
    }),
    op('POST /api/v1/deployments', 'createDeployment', 'Deploy an image (the application in the body)', {
      description: 'The same as `POST /apps/{id}/deploy`, naming the application by `app_id`.',
      ...start(newDeployment),
      errors: deployErrors,
    }),
    op('GET /api/v1/deployments/{id}', 'getDeployment', 'Get a deployment', {
      parameters: [ids.deployment],
      success: [{ status: 200, description: 'The deployment.', schema: views.deployment }],
    }),
    op('GET /api/v1/deployments/{id}/status', 'getDeploymentStatus', "A deployment's progress", {
      description: 'The steps so far, rollout counts, its place in the environment’s queue and its approval.',
      parameters: [ids.deployment],
      success: [{ status: 200, description: 'Its progress.', schema: views.deploymentStatus }],
    }),
    op('POST /api/v1/deployments/{id}/cancel', 'cancelDeployment', 'Cancel a deployment', {
      description:
        'Stops its workflow wherever it is (queued, waiting for the lock or an approval, rolling out), ends it as `cancelled` with its pending approval, and frees the environment. What the cluster already took stays: roll back if needed. Whoever may start the deployment may cancel it.',
      parameters: [ids.deployment],
      body: { schema: cancelRequest },
      idempotencyKey: true,
      success: [{ status: 200, description: 'The deployment, now `cancelled`.', schema: views.deployment }],
      errors: {
        403: 'Needs deployment.create (rollback.create for a rollback) on the environment.',
        404: 'The deployment does not exist, or you cannot see it.',
        409: 'The deployment has already finished (`deployment-final`).',
      },
    }),
    op('GET /api/v1/apps/{id}/envs/{env}/releases', 'listReleases', "List an environment's releases", {
      description: 'Every deployment that reached the cluster, newest revision first, with its outcome.',
      parameters: [ids.app, ids.env],
      paged: true,
      success: list(pages.releases),
    }),
    op('POST /api/v1/apps/{id}/promote', 'promoteApp', 'Promote what runs in one environment to another', {
      description:
        'Deploys exactly the current release of `from` to `to`: its image pinned to the digest its pods ran (`repository@sha256:…`), its replicas, strategy and progress deadline, through the normal deploy path (queue, approvals, freezes). The deployment’s `origin` names `from` and its revision.',
      parameters: [ids.app],
      ...start(promoteRequest),
      errors: {
        400: '`from` and `to` are the same environment.',
        403: 'Needs deployment.create on `to` (and env.read on `from`).',
        404: 'The application or an environment does not exist, or you cannot see it.',
        422: '`from` has no release yet (`nothing-to-promote`).',
      },
    }),
    op('POST /api/v1/rollbacks', 'createRollback', 'Roll an environment back', {
      description:
        'Puts back `target_revision`, by default the last successful release before the current one, through the rollback workflow.',
      ...start(newRollback),
      errors: {
        ...freezeErrors,
        403: 'Needs rollback.create on the environment (and freeze.override with `override_freeze`).',
        404: 'The application, environment or `target_revision` does not exist, or you cannot see it.',
        409: 'No earlier successful release (`no-rollback-target`), `target_revision` did not succeed (`not-a-good-release`), or a freeze that disallows rollbacks is in force (`frozen`).',
      },
    }),
  ),
  ...section(
    'Approvals',
    op('GET /api/v1/approvals', 'listApprovals', 'List approvals', {
      description: 'The approvals of applications you can read, newest first.',
      parameters: [
        {
          name: 'state',
          in: 'query',
          schema: z.enum(APPROVAL_STATES),
          description: 'Only approvals in this state (default `pending`).',
        },
      ],
      paged: true,
      success: list(pages.approvals),
    }),
    op('GET /api/v1/approvals/{id}', 'getApproval', 'Get an approval', {
      parameters: [ids.approval],
      success: [{ status: 200, description: 'The approval, with its votes.', schema: views.approval }],
    }),
    op('POST /api/v1/approvals/{id}/approve', 'approve', 'Approve a deployment', {
      description:
        'Your vote; the last vote needed resumes the deployment. The environment may forbid approving your own.',
      ...vote('The approval with your vote: `approved` once enough have approved.'),
    }),
    op('POST /api/v1/approvals/{id}/reject', 'reject', 'Reject a deployment', {
      description: 'One rejection ends the deployment as `rejected`, with your comment as the reason.',
      ...vote('The approval, now `rejected`.'),
    }),
  ),
  ...section(
    'Builds',
    op('POST /api/v1/builds', 'createBuild', 'Build a commit', {
      description:
        'Builds `commit.sha` (the full 40-hex SHA) of the application into `<image_repository>:<sha>` on its build cluster (`build_cluster_id`, or the platform default). `dockerfile` is relative to `context`. Answers 202 with the queued build; a failed build ends `failed` with its reason in its state and the last lines of its log.',
      body: { schema: newBuild },
      idempotencyKey: true,
      success: [
        {
          status: 202,
          description: 'Accepted: the build is queued. Location is the build.',
          schema: views.build,
          location: true,
        },
      ],
      errors: {
        403: 'Needs build.run on the application.',
        404: 'The application does not exist or you cannot see it.',
        422: 'No build cluster: the application names none and the platform has no default (`no-build-cluster`), or it is no longer registered (`unknown-cluster`).',
        503: 'The build workflow could not be started; the build was recorded as failed (`workflow-unavailable`).',
      },
    }),
    op('GET /api/v1/builds', 'listBuilds', "List an application's builds", {
      description: 'Newest first. `app_id` is required (400 without).',
      parameters: [
        { name: 'app_id', in: 'query', schema: resourceId('app'), description: 'The application (required).' },
      ],
      paged: true,
      success: list(pages.builds),
      errors: { 400: 'No `app_id`.', 404: 'The application does not exist or you cannot see it.' },
    }),
    op('GET /api/v1/builds/{id}', 'getBuild', 'Get a build', {
      parameters: [ids.build],
      success: [{ status: 200, description: 'The build.', schema: views.build }],
    }),
    op('POST /api/v1/builds/{id}/cancel', 'cancelBuild', 'Cancel a build', {
      description:
        'Ends the build as `cancelled` (its log says by whom and why), stops its workflow and deletes its Job on the cluster. Whoever may run builds of the application may cancel one.',
      parameters: [ids.build],
      body: { schema: cancelRequest },
      idempotencyKey: true,
      success: [{ status: 200, description: 'The build, now `cancelled`.', schema: views.build }],
      errors: {
        403: 'Needs build.run on the application.',
        404: 'The build does not exist, or you cannot see it.',
        409: 'The build has already finished (`build-final`).',
      },
    }),
    op('GET /api/v1/builds/{id}/logs', 'getBuildLogs', "A build's log, as text or as Server-Sent Events", {
      description:
        'Secrets the build was given are masked (`***`); lines Slipway adds start with `[slipway]`. Logs are kept 30 days. **text/plain** (default): the log after byte `since`, at most 4 MiB; `Log-Offset` is where the answer ends (the next `since`), `Log-Complete: true` once the build has ended and nothing follows. **Accept: text/event-stream**: each stored chunk is an event whose `id` is the byte offset where it ends; an answer holds what is there within 10 s (API Gateway buffers answers) and ends with `retry:`, so EventSource reconnects with `Last-Event-ID` and resumes exactly, without gap or duplicate. The last event is `event: end` (id `end`) with the build’s final state as JSON (`build_id`, `state`, `image`, `digest`, `reason`, `finished_at`); a reconnect after it gets 204, which makes EventSource stop.',
      parameters: [
        ids.build,
        {
          name: 'since',
          in: 'query',
          schema: z.string().check(z.regex(/^\d{1,15}$/)),
          description: 'Byte offset to start after (default 0); an event stream starts there without Last-Event-ID.',
        },
        {
          name: 'Last-Event-ID',
          in: 'header',
          schema: z.string().check(z.regex(/^(\d{1,15}|end)$/)),
          description: 'Sent by EventSource when it reconnects: the id of the last event it received.',
        },
      ],
      success: [
        {
          status: 200,
          description: 'The log (text/plain), or its events (text/event-stream).',
          schema: z.string(),
          mediaType: ['text/plain', 'text/event-stream'],
        },
        { status: 204, description: 'The stream had ended (Last-Event-ID `end`): nothing more will come.' },
      ],
      errors: { 400: 'A `since` or Last-Event-ID that is not a position in this log (not digits, or past its end).' },
    }),
  ),
  ...section(
    'Audit',
    op('GET /api/v1/audit', 'listAuditEntries', 'List audit log entries', {
      description:
        'Newest first. Give exactly one filter. A subject of a project, or a project, needs audit.read on that project; platform subjects (clusters, teams, bindings, users) and actors need it on the platform.',
      parameters: [auditQuery.subject, auditQuery.actor, auditQuery.project_id],
      paged: true,
      success: list(pages.audit),
      errors: {
        400: 'Not exactly one of subject, actor, project_id.',
        403: 'Needs audit.read (you can read the project, or list by actor without platform audit.read).',
        404: 'No audit log for the subject, or you cannot see it.',
      },
    }),
    op('GET /api/v1/audit/verify', 'verifyAuditChain', 'Verify a subject’s audit chain', {
      description:
        'Recomputes every hash of the chain (an altered, removed or reordered entry makes it invalid, naming the first entry that does not hold) and compares the chain with the newest validly signed checkpoint: a chain cut short or rewritten with its hashes recomputed since then is reported as `truncated` or `rewritten`; forged checkpoints as `checkpoint-invalid`. Entries appended after the checkpoint are checked by the hash chain.',
      parameters: [{ ...auditQuery.subject, description: 'The subject whose chain to verify (required).' }],
      success: [{ status: 200, description: 'The verdict.', schema: views.chainReport }],
      errors: {
        400: 'No subject given.',
        403: 'Needs audit.read on the subject’s project (or the platform).',
        404: 'No audit log for the subject, or you cannot see it.',
      },
    }),
    op('POST /api/v1/audit/checkpoints', 'requestAuditCheckpoint', 'Take an audit checkpoint now', {
      description:
        'Checkpoints are also taken every 5 minutes. The request is recorded (and audited) at once; the checkpointer signs and stores the checkpoint moments later: Location is the newest checkpoint, whose `request.event_id` is this answer’s `event_id`.',
      body: { schema: checkpointRequest },
      idempotencyKey: true,
      success: [
        {
          status: 202,
          description: 'Accepted: the checkpoint is on its way. Location is the newest checkpoint.',
          schema: views.checkpointRequest,
          location: true,
        },
      ],
      errors: { 403: 'Needs audit.checkpoint on the platform (platform admins).' },
    }),
    op('GET /api/v1/audit/checkpoints/latest', 'latestAuditCheckpoint', 'The newest signed audit checkpoint', {
      description:
        'The newest checkpoint whose signature holds, without its list of chains, and any newer checkpoint objects that are not validly signed.',
      success: [{ status: 200, description: 'The checkpoint.', schema: views.checkpoint }],
      errors: {
        403: 'Needs audit.read on the platform.',
        404: 'No validly signed checkpoint yet.',
      },
    }),
  ),
  ...section(
    'Pipelines',
    op('GET /api/v1/pipelines', 'listPipelines', "List an application's pipelines", {
      description: 'By name. `app_id` is required (400 without).',
      parameters: [
        { name: 'app_id', in: 'query', schema: resourceId('app'), description: 'The application (required).' },
      ],
      paged: true,
      success: list(pages.pipelines),
      errors: { 400: 'No `app_id`.', 404: 'The application does not exist or you cannot see it.' },
    }),
    op('POST /api/v1/pipelines', 'createPipeline', 'Create a pipeline', {
      description:
        'The body is JSON, or YAML with `Content-Type: application/yaml` (YAML 1.2 core schema: no custom tags, no duplicate keys, aliases bounded). Version 1.',
      body: { schema: newPipeline, yaml: true },
      idempotencyKey: true,
      success: made(views.pipeline),
      errors: {
        ...definitionErrors,
        403: 'Needs pipeline.write on the application.',
        404: 'The application does not exist or you cannot see it.',
        409: 'The name is taken in this application.',
      },
    }),
    op('GET /api/v1/pipelines/{id}', 'getPipeline', 'Get a pipeline', {
      description: 'As it is now (with its ETag), or with `version` its definition as it was then (no ETag).',
      parameters: [
        ids.pipeline,
        {
          name: 'version',
          in: 'query',
          schema: z.string().check(z.regex(/^[1-9]\d{0,9}$/)),
          description: 'An earlier version: every version is kept.',
        },
      ],
      success: read(views.pipeline),
      errors: { 404: 'The pipeline (or that version of it) does not exist, or you cannot see it.' },
    }),
    op('PUT /api/v1/pipelines/{id}', 'replacePipeline', 'Replace a pipeline’s definition', {
      description: 'The whole definition, JSON or YAML: a new version. Runs in progress keep the version they run.',
      parameters: [ids.pipeline],
      body: { schema: pipelineChanges, yaml: true },
      ifMatch: true,
      success: changed(views.pipeline),
      errors: { ...definitionErrors, 403: 'Needs pipeline.write.' },
    }),
    op('PATCH /api/v1/pipelines/{id}', 'updatePipeline', 'Update a pipeline’s definition', {
      ...patch(pipelineChanges, views.pipeline),
      description: 'RFC 7396 merge patch (`stages` is replaced whole): a new version.',
      parameters: [ids.pipeline],
      errors: { ...definitionErrors, 403: 'Needs pipeline.write.' },
    }),
    op('DELETE /api/v1/pipelines/{id}', 'deletePipeline', 'Delete a pipeline', {
      description: 'Its runs stay readable by id.',
      parameters: [ids.pipeline],
      ...remove,
      errors: { 403: 'Needs pipeline.write.', 409: 'A run of the pipeline is in progress (`has-children`).' },
    }),
    op('POST /api/v1/pipelines/{id}/run', 'runPipeline', 'Run a pipeline at a commit', {
      description:
        'Builds the commit (its full 40-hex SHA and its ref) and deploys the image by digest through the deploy stages, acting for you: each deployment needs your deployment.create there, and protected environments wait for their approvers as any deployment does. The concurrency policy decides what happens to an older run on the same ref.',
      parameters: [ids.pipeline],
      body: { schema: runRequest },
      idempotencyKey: true,
      success: runStarted('Accepted: the run is queued.'),
      errors: {
        403: 'Needs pipeline.run on the application.',
        404: 'The pipeline does not exist, or you cannot see it.',
      },
    }),
    op('GET /api/v1/pipelines/{id}/runs', 'listRuns', "List a pipeline's runs", {
      description: 'Newest first.',
      parameters: [ids.pipeline],
      paged: true,
      success: list(pages.runs),
    }),
    op('GET /api/v1/pipelines/{id}/logs', 'getPipelineLogs', "The build log of a pipeline's newest run", {
      description:
        'As `GET /builds/{id}/logs` answers it, for the build of the newest run (named by the `Run-Id` and `Build-Id` headers): text from `?since=`, or with `Accept: text/event-stream` Server-Sent Events whose ids are positions, resumed with `Last-Event-ID`, ending with an `end` event that carries the build’s final state.',
      parameters: [
        ids.pipeline,
        {
          name: 'since',
          in: 'query',
          schema: z.string().check(z.regex(/^\d{1,15}$/)),
          description: 'A byte offset into the log (`Log-Offset` of an earlier answer).',
        },
      ],
      success: [
        {
          status: 200,
          description: 'The log so far, or the events since the position asked for.',
          schema: z.string(),
          mediaType: ['text/plain', 'text/event-stream'],
        },
      ],
      errors: {
        400: 'A `since` or `Last-Event-ID` that is not a position in the log.',
        404: 'The pipeline does not exist, you cannot see it, or no run of it has started a build yet.',
      },
    }),
    op('GET /api/v1/runs/{id}', 'getRun', 'Get a run', {
      description: 'Each stage with its state, times, actor and the build or deployment it started, and the commit.',
      parameters: [ids.run],
      success: [{ status: 200, description: 'The run.', schema: views.run }],
    }),
    op('POST /api/v1/runs/{id}/cancel', 'cancelRun', 'Cancel a run', {
      description:
        'Ends it `cancelled`: a running build is stopped (its Job deleted), a deployment it is running is cancelled as `POST /deployments/{id}/cancel` would (a pending approval closed, the environment freed), and later stages are skipped.',
      parameters: [ids.run],
      body: { schema: cancelRequest },
      idempotencyKey: true,
      success: [{ status: 200, description: 'The run, now `cancelled`.', schema: views.run }],
      errors: {
        403: 'Needs pipeline.run, and deployment.create where it is deploying.',
        404: 'The run does not exist, or you cannot see it.',
        409: 'The run has already ended (`run-final`).',
      },
    }),
    op('POST /api/v1/runs/{id}/retry', 'retryRun', 'Run a run again', {
      description:
        'A new run of the same commit and the same version of the definition, with `retry_of` naming this one. The run must have ended.',
      parameters: [ids.run],
      idempotencyKey: true,
      success: runStarted('Accepted: the new run is queued.'),
      errors: {
        403: 'Needs pipeline.run.',
        404: 'The run or its pipeline does not exist, or you cannot see it.',
        409: 'The run is still in progress (`run-in-progress`).',
      },
    }),
  ),
  ...section(
    'Webhooks',
    op('POST /api/v1/apps/{id}/webhooks', 'createWebhook', 'Create a Git webhook endpoint', {
      description:
        "For the application's repository on its provider. The answer holds the secret, this once (it lives in Secrets Manager and is never returned again, not even by an Idempotency-Key replay): set the provider's webhook to `url` with this secret (GitHub: content type application/json, or form-encoded).",
      parameters: [ids.app],
      ...create(newWebhook, views.webhookWithSecret),
      errors: {
        403: 'Needs webhook.manage on the application.',
        422: 'The provider is not the repository’s (`provider-mismatch`).',
      },
    }),
    op('GET /api/v1/apps/{id}/webhooks', 'listWebhooks', "List an application's webhook endpoints", {
      parameters: [ids.app],
      paged: true,
      success: list(pages.webhooks),
    }),
    op('GET /api/v1/apps/{id}/webhooks/{hook_id}', 'getWebhook', 'Get a webhook endpoint', {
      parameters: [ids.app, ids.hook],
      success: read(views.webhook),
    }),
    op('DELETE /api/v1/apps/{id}/webhooks/{hook_id}', 'deleteWebhook', 'Delete a webhook endpoint', {
      description: 'Its secret is deleted with it: later deliveries get 401.',
      parameters: [ids.app, ids.hook],
      success: gone,
      errors: { 403: 'Needs webhook.manage.' },
    }),
    op('POST /api/v1/apps/{id}/webhooks/{hook_id}/rotate', 'rotateWebhook', "Rotate a webhook endpoint's secret", {
      description:
        'A new secret, shown this once; the previous one is still accepted for `overlap_hours` (default 24, 0 ends it now), time to change the provider’s setting.',
      parameters: [ids.app, ids.hook],
      body: { schema: rotateWebhook },
      idempotencyKey: true,
      success: [{ status: 200, description: 'Rotated, with the new secret.', schema: views.webhookWithSecret }],
      errors: { 403: 'Needs webhook.manage.', 409: 'Rotated by someone else at the same moment.' },
    }),
    op('GET /api/v1/apps/{id}/webhooks/{hook_id}/deliveries', 'listDeliveries', "A webhook endpoint's delivery log", {
      description:
        'Newest first, kept 30 days: the event, the provider’s delivery id, when it arrived, its outcome (runs started, ignored and why, refused and why) and how long it took.',
      parameters: [ids.app, ids.hook],
      paged: true,
      success: list(pages.deliveries),
    }),
    op(
      'POST /api/v1/apps/{id}/webhooks/{hook_id}/deliveries/{delivery_id}/replay',
      'replayDelivery',
      'Replay a stored delivery',
      {
        description:
          "Dispatches a stored push or pull request again: its pipelines' runs start anew, acting for the endpoint's creator. Admins on the application only; audited.",
        parameters: [
          ids.app,
          ids.hook,
          path('delivery_id', z.string().check(z.regex(/^[\x21-\x7e]{1,128}$/)), "The provider's delivery id."),
        ],
        idempotencyKey: true,
        success: [
          {
            status: 202,
            description: 'Accepted: the delivery is pending again.',
            schema: views.delivery,
            location: true,
          },
        ],
        errors: { 403: 'Needs webhook.replay (admin).', 409: 'Only a push or pull request can be replayed.' },
      },
    ),
    op('POST /api/v1/hooks/{provider}/{hook_id}', 'receiveDelivery', 'Receive a GitHub or GitLab delivery', {
      public: true,
      description:
        'What the provider posts to. GitHub: `X-Hub-Signature-256` (HMAC-SHA256 of the body), `X-GitHub-Event`, `X-GitHub-Delivery`; GitLab: `X-Gitlab-Token`, `X-Gitlab-Event`, `Idempotency-Key` or `X-Gitlab-Event-UUID`. Bodies up to 1 MiB, JSON or (GitHub) form-encoded `payload=`. A redelivery answers 200 with the first outcome and starts nothing.',
      parameters: [path('provider', z.enum(['github', 'gitlab']), 'The Git provider.'), ids.hook],
      success: [
        { status: 202, description: 'Stored; runs start behind the bus.', schema: views.delivery },
        { status: 200, description: 'A redelivery: the first delivery’s outcome.', schema: views.delivery },
      ],
      errors: {
        401: 'Unknown endpoint, or a missing or wrong signature or token (the same answer).',
        413: 'Over 1 MiB.',
        415: 'Neither JSON nor form-encoded.',
        422: 'Not from the application’s repository (`repository-mismatch`), or an event the endpoint was not created for (`event-not-enabled`).',
      },
    }),
  ),
  ...section(
    'Channels',
    op('POST /api/v1/projects/{id}/channels', 'createChannel', 'Add a chat channel to a project', {
      description: `A platform and its incoming webhook: the URL must be on the platform's own host (or a self-hosted host the platform team configured, SLIPWAY_CHAT_HOSTS), over https, never a private address; a signing secret only for Feishu and DingTalk. Both go to Secrets Manager and are never returned. Filters: event types (of the change-event catalog), environments and outcomes; an empty or absent list means all. At most ${MAX_CHANNELS_PER_PROJECT} per project.`,
      parameters: [ids.project],
      ...create(newChannel, views.channel),
      errors: {
        403: 'Needs channel.manage on the project.',
        422: 'The host is not allowed (`host-not-allowed`), is a private address (`private-host`), the URL is not https or carries a password (`invalid-webhook-url`), the platform signs no webhooks (`secret-not-supported`), or the project has its maximum (`too-many-channels`).',
      },
    }),
    op('GET /api/v1/projects/{id}/channels', 'listChannels', "List a project's chat channels", {
      parameters: [ids.project],
      paged: true,
      success: list(pages.channels),
      errors: { 404: 'The project does not exist, or you cannot read it (needs channel.read).' },
    }),
    op('GET /api/v1/projects/{id}/channels/{channel_id}', 'getChannel', 'Get a chat channel', {
      parameters: [ids.project, ids.channel],
      success: read(views.channel),
    }),
    op('PATCH /api/v1/projects/{id}/channels/{channel_id}', 'updateChannel', 'Change a chat channel', {
      ...patch(channelPatch, views.channel),
      description:
        'RFC 7396 merge patch: `name`, `webhook_url`, `secret` (`null` removes it) and each filter list (given: replaced; `null` or empty: all). The platform cannot change. A new URL or secret raises `credentials_version`.',
      parameters: [ids.project, ids.channel],
      errors: { 403: 'Needs channel.manage.', 422: 'As for creation.' },
    }),
    op('DELETE /api/v1/projects/{id}/channels/{channel_id}', 'deleteChannel', 'Delete a chat channel', {
      description: 'Its secret is deleted with it.',
      parameters: [ids.project, ids.channel],
      ...remove,
      errors: { 403: 'Needs channel.manage.' },
    }),
    op(
      'POST /api/v1/projects/{id}/channels/{channel_id}/test',
      'testChannel',
      'Send a test message to a chat channel',
      {
        description:
          "Sends one message now and reports the platform's answer. A refusal is an answer too: 200 with `delivered: false`, the platform's HTTP status and its own error code and message (never the URL or the secret).",
        parameters: [ids.project, ids.channel],
        idempotencyKey: true,
        success: [{ status: 200, description: 'What the platform answered.', schema: views.channelTest }],
        errors: { 403: 'Needs channel.manage.' },
      },
    ),
  ),
  ...section(
    'Metrics',
    op('GET /api/v1/metrics/dora', 'getDoraMetrics', 'The four DORA metrics', {
      description: doraDescription,
      parameters: doraParameters,
      success: [{ status: 200, description: 'The range in all, and per period.', schema: views.doraReport }],
      errors: doraErrors,
    }),
    op('GET /api/v1/metrics/dora.svg', 'getDoraChart', 'The four DORA metrics as an SVG chart', {
      description:
        'The same report drawn server-side: a panel per metric with its value, band and a bar per period. Embed it as an image (it needs the token, so a wiki fetches it through a proxy that holds one).',
      parameters: doraParameters,
      success: [{ status: 200, description: 'An SVG document.', schema: z.string(), mediaType: 'image/svg+xml' }],
      errors: doraErrors,
    }),
  ),
  ...section(
    'Schedules',
    op('POST /api/v1/schedules', 'createSchedule', 'Schedule a deploy, promotion or rollback', {
      description:
        'Either `at` (RFC 3339 with an offset, in the future) or `cron` with an IANA `timezone`. A local time that does not exist on a spring-forward day is skipped, a repeated one fires once (as EventBridge Scheduler does). `flexible_window_minutes`: a fire may come that much later; one later still is recorded as missed. You become its owner: each fire acts with your rights as they are then.',
      ...create(newSchedule, views.schedule),
      errors: {
        400: 'An invalid cron (the field is named), an unknown time zone, an `at` in the past, or both or neither of `at` and `cron`.',
        403: 'Needs schedule.manage on the environment, and what the action needs there: deployment.create (deploy, promote; plus env.read on `from`) or rollback.create.',
        404: 'The application or an environment does not exist, or you cannot see it.',
      },
    }),
    op('GET /api/v1/schedules', 'listSchedules', 'List schedules', {
      description: 'Of one application (by environment) or one project: exactly one of `app_id`, `project_id`.',
      parameters: [
        { name: 'app_id', in: 'query', schema: resourceId('app'), description: 'The schedules of this application.' },
        { name: 'project_id', in: 'query', schema: resourceId('prj'), description: 'The schedules of this project.' },
      ],
      paged: true,
      success: list(pages.schedules),
      errors: { 404: 'The application or project does not exist, or you cannot see it.' },
    }),
    op('GET /api/v1/schedules/{id}', 'getSchedule', 'Get a schedule', {
      description: 'With its next five fire times, as instants and on its wall clock, and its last fire.',
      parameters: [ids.schedule],
      success: read(views.schedule),
    }),
    op('PATCH /api/v1/schedules/{id}', 'updateSchedule', 'Change, pause or resume a schedule', {
      parameters: [ids.schedule],
      ...patch(scheduleChanges, views.schedule),
      errors: {
        400: 'As on create; `action` is replaced whole. To switch from `at` to `cron`, send `at: null` with them.',
        403: 'Needs schedule.manage and the action’s permission: you become the owner.',
      },
    }),
    op('DELETE /api/v1/schedules/{id}', 'deleteSchedule', 'Delete a schedule', {
      parameters: [ids.schedule],
      ...remove,
      errors: { 403: 'Needs schedule.manage.' },
    }),
    op('GET /api/v1/schedules/{id}/fires', 'listFires', "A schedule's fire history", {
      description: 'Newest first: when each fire was due and came, and the deployment it made or why it made none.',
      parameters: [ids.schedule],
      paged: true,
      success: list(pages.fires),
    }),
  ),
  ...section(
    'Freezes',
    op('GET /api/v1/freezes', 'listFreezes', 'List freezes', {
      description:
        'With `scope`, the freezes set on that scope or inside it; without it (or `platform`), every freeze you may read (platform freezes: anyone with a binding). A page across scopes may hold fewer items than `limit`: follow `next_cursor`.',
      parameters: [
        {
          name: 'scope',
          in: 'query',
          schema: z.string().check(z.maxLength(200)),
          description: '`platform`, `project/<id>`, `project/<id>/app/<id>` or `project/<id>/app/<id>/env/<name>`.',
        },
      ],
      paged: true,
      success: list(pages.freezes),
      errors: { 400: 'Not a scope path.', 404: 'You cannot read freezes on that scope.' },
    }),
    op('POST /api/v1/freezes', 'createFreeze', 'Create a freeze', {
      description:
        '`scope` is `"platform"` or `{ project_id }`, `{ app_id }`, `{ app_id, env }`. A one-off window gives `starts_at` and `ends_at` (RFC 3339 with an offset); a recurring one a standard 5-field `cron` (AWS\'s 6-field form is not taken), an IANA `timezone` and `duration_minutes`. At most 30 days either way.',
      ...create(newFreeze, views.freeze),
      errors: {
        400: 'Invalid window: end before start, over 30 days, an invalid cron (the field is named), an unknown time zone; or an empty scope.',
        403: 'Needs freeze.manage on the scope (`platform`: on the platform).',
        404: 'The project, application or environment does not exist, or you cannot see it.',
        409: 'Another freeze changed at the same moment (`freezes-changed`): retry.',
        422: 'Too many current freezes (`too-many-freezes`).',
      },
    }),
    op('GET /api/v1/freezes/{id}', 'getFreeze', 'Get a freeze', {
      parameters: [ids.freeze],
      success: read(views.freeze),
    }),
    op('PATCH /api/v1/freezes/{id}', 'updateFreeze', 'Change a freeze', {
      ...patch(freezeChanges, views.freeze),
      description:
        'RFC 7396 merge patch (`window` is replaced whole); the scope stays. While the freeze is in force, only a holder of freeze.override may change it, and that is told as `Freeze Overridden`.',
      parameters: [ids.freeze],
      errors: {
        403: 'Needs freeze.manage on its scope, and freeze.override while it is in force.',
        409: 'Another freeze changed at the same moment (`freezes-changed`): retry.',
      },
    }),
    op('DELETE /api/v1/freezes/{id}', 'deleteFreeze', 'Delete a freeze', {
      description:
        'While it is in force, only a holder of freeze.override may delete it (told as `Freeze Overridden`).',
      parameters: [ids.freeze],
      ...remove,
      errors: { 403: 'Needs freeze.manage on its scope, and freeze.override while it is in force.' },
    }),
  ),
  ...section(
    'Chat',
    chatCallback(
      'POST /api/v1/chat/slack/interactions',
      'receiveSlackInteraction',
      'Slack buttons (block_actions)',
      'Form-encoded `payload`, signed with `X-Slack-Signature` (`v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`) and `X-Slack-Request-Timestamp` (at most 5 minutes off). `action_id` approve or reject, `value` the approval id; the card `comment` input (`state.values.comment.comment.value`) is the vote comment. The reply goes to the clicker only.',
    ),
    chatCallback(
      'POST /api/v1/chat/slack/commands',
      'receiveSlackCommand',
      'Slack `/slipway` command',
      'Signed as interactions. `status <app id> <env>`, `approve <approval id> [comment]`, `reject <approval id> <comment>`, `link <code>`: the answer is an ephemeral reply.',
    ),
    chatCallback(
      'POST /api/v1/chat/feishu/events',
      'receiveFeishuEvent',
      'Feishu/Lark events and card actions',
      'Schema 2.0. With an Encrypt Key: `{"encrypt"}` (AES-256-CBC, key SHA-256 of the Encrypt Key, IV first) and `X-Lark-Signature` (SHA-256 of timestamp, nonce, Encrypt Key and body); the Verification Token inside. URL verification answers its challenge; `card.action.trigger` with `value: {action, approval_id}` decides (a toast answers); `im.message.receive_v1` runs the commands.',
    ),
    chatCallback(
      'POST /api/v1/chat/dingtalk/events',
      'receiveDingTalkCallback',
      'DingTalk card callbacks and robot messages',
      'Headers `timestamp` (ms, at most an hour off) and `sign` (base64 HMAC-SHA256 of `<timestamp>\\n<AppSecret>`). A card callback (`outTrackId`, `cardPrivateData.actionIds` approve or reject, `params.approval_id`) decides; a robot message runs the commands and is answered as the robot.',
    ),
    chatCallback(
      'GET /api/v1/chat/wecom/events',
      'verifyWeComUrl',
      'WeCom URL verification',
      'Query `msg_signature` (SHA-1 of the sorted token, timestamp, nonce and echostr), `timestamp`, `nonce`, `echostr`: answered with the decrypted echostr as text.',
      'text/plain',
    ),
    chatCallback(
      'POST /api/v1/chat/wecom/events',
      'receiveWeComEvent',
      'WeCom template card events and messages',
      'XML with `Encrypt` (AES-256-CBC with the EncodingAESKey, PKCS#7 to 32 bytes), signed in the query as the URL verification. `template_card_event` with EventKey `approve:<id>` or `reject:<id>` decides; a text message runs the commands. Answered with an encrypted passive reply (XML).',
    ),
  ),
];
