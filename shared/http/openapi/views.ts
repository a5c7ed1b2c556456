/**
 * Response bodies, as zod/mini schemas, for the OpenAPI document only. The API functions never
 * import this module (they shape responses from their catalog types), so their bundles stay small.
 */
import * as z from 'zod/mini';
import { PERMISSIONS, ROLE_NAMES } from '../../auth/roles.ts';
import { newApp, repository } from '../../domain/app.ts';
import { BUILD_STATES, newBuild } from '../../domain/build.ts';
import { CHANNEL_PLATFORMS, channelFilters } from '../../domain/channel.ts';
import { clusterAuth, newCluster } from '../../domain/cluster.ts';
import { deployedCommit } from '../../domain/commit.ts';
import { APPROVAL_STATES, DEPLOYMENT_STATES, rolloutStrategy } from '../../domain/deployment.ts';
import { INTERVALS } from '../../domain/dora.ts';
import { envTier, newEnv, protection } from '../../domain/environment.ts';
import { description, dnsLabel, resourceId } from '../../domain/fields.ts';
import { freezeFields, freezeWindow } from '../../domain/freeze.ts';
import { newBinding, newTeam, userId } from '../../domain/identity.ts';
import { newPipeline } from '../../domain/pipeline.ts';
import { newProject } from '../../domain/project.ts';
import { RUN_STATES, STAGE_STATES } from '../../domain/run.ts';
import { scheduleFields } from '../../domain/schedule.ts';
import { CHAT_KINDS } from '../../notify/channels.ts';

const timestamp = z.iso.datetime();
const version = z.int().check(z.minimum(1), z.describe('Goes up by one on every change; the ETag is "v<version>".'));

/** What every stored resource shows besides its own fields (see `stamp` in shared/store/records.ts). */
const stamped = { version, created_at: timestamp, updated_at: timestamp, created_by: userId };

export const project = z.object({ id: resourceId('prj'), ...newProject.shape, ...stamped });

const { status_token_secret_arn: _tokenArn, ...shownRepository } = repository.shape;
/** The provider token's secret reference is never shown, only that one is set. */
export const app = z.object({
  id: resourceId('app'),
  ...newApp.shape,
  repository: z.object({
    ...shownRepository,
    status_token_configured: z.optional(
      z.literal(true).check(z.describe('A status token is set: runs report commit statuses to the provider.')),
    ),
  }),
  ...stamped,
});

/** Environments are named within their app: the id is the name. Defaults are filled in on create. */
export const env = z.object({
  id: dnsLabel,
  ...newEnv.shape,
  protection,
  order: z.int().check(z.minimum(0), z.maximum(100)),
  tier: envTier.check(z.describe('GitLab’s deployment tier; inferred from the name when not given.')),
  app_id: resourceId('app'),
  project_id: resourceId('prj'),
  ...stamped,
});

const [eksIamAuth, , kubeconfigAuth] = clusterAuth._zod.def.options;
/** The token and kubeconfig modes never show their secret reference, only that one is set. */
const shownAuth = z.discriminatedUnion('mode', [
  eksIamAuth,
  z.object({ mode: z.literal('token'), token_configured: z.literal(true) }),
  z.object({
    mode: z.literal('kubeconfig'),
    kubeconfig_configured: z.literal(true),
    context: kubeconfigAuth.shape.context,
  }),
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
  violated_policies: z.optional(z.array(z.string()).check(z.describe('The quotas a 429 exceeded.'))),
});

/** API Gateway's own answer when the JWT authorizer refuses a token (it never reaches a function). */
export const gatewayError = z.object({ message: z.string() });

export const health = z.object({
  status: z.literal('ok'),
  service: z.literal('slipway'),
  version: z.optional(z.string()),
});

const sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/));

/** One audit log entry (shared/audit/chain.ts): a change event, chained to the subject's previous entry. */
export const auditEntry = z.object({
  seq: z.int().check(z.minimum(1), z.describe('1, 2, 3, … per subject, without gaps.')),
  event_id: z.string().check(z.describe('The change event’s id: one entry per event.')),
  time: timestamp,
  actor: z.string().check(z.describe('Who made the change: a user’s sub, or `slipway`.')),
  subject: z.string().check(z.describe('What changed, `<kind>/<id>`: project/prj_…, env/app_…/prod, user/alice.')),
  type: z.string().check(z.describe('What happened, e.g. `Project Created`.')),
  source: z.string(),
  request_id: z.nullable(z.string()),
  project_id: z.nullable(resourceId('prj')),
  data: z.record(z.string(), z.unknown()).check(z.describe('The resource after the change (`{ id }` for a delete).')),
  prev_hash: sha256Hex.check(z.describe('The previous entry’s hash; 64 zeros for the first.')),
  hash: sha256Hex.check(z.describe('sha256(prev_hash + canonical JSON of the entry without hash), hex.')),
});

const checkpointKey = z
  .string()
  .check(z.describe('The checkpoint object’s key in the Object Lock bucket, `checkpoints/<12 digits>.json`.'));

/** Where the table and a signed checkpoint disagree, or a checkpoint cannot be trusted (shared/audit/checkpoint.ts). */
export const auditFinding = z.object({
  type: z.enum([
    'chain-broken',
    'truncated',
    'rewritten',
    'head-missing',
    'checkpoint-invalid',
    'checkpoint-chain-broken',
  ]),
  seq: z.optional(z.int().check(z.minimum(1), z.describe('The chain entry it is about.'))),
  checkpoint: z.optional(checkpointKey),
  message: z.string(),
});

export const chainReport = z.object({
  subject: z.string(),
  entries: z.int().check(z.minimum(0)),
  valid: z.boolean().check(z.describe('True when there are no findings.')),
  first_invalid_seq: z.optional(z.int().check(z.minimum(1))),
  reason: z.optional(z.string().check(z.describe('The first finding.'))),
  checkpoint: z.nullable(
    z
      .object({
        key: checkpointKey,
        number: z.int().check(z.minimum(1)),
        time: z.nullable(timestamp),
        verified: z.boolean().check(z.describe('Signed by the audit key; false only when no checkpoint is.')),
        recorded: z.nullable(z.object({ seq: z.int().check(z.minimum(1)), hash: sha256Hex })),
      })
      .check(
        z.describe('The newest validly signed checkpoint, and what it recorded for this chain (null: newer than it).'),
      ),
  ),
  findings: z.array(auditFinding),
});

/** POST /audit/checkpoints: the request is on its way to the checkpointer. */
export const checkpointRequest = z.object({
  event_id: z
    .string()
    .check(z.describe('The "Audit Checkpoint Requested" event; the checkpoint names it in `request`.')),
  requested_at: timestamp,
  status: z.literal('requested'),
});

/** The newest validly signed checkpoint, without its list of chains. */
export const checkpoint = z.object({
  key: checkpointKey,
  number: z.int().check(z.minimum(1)),
  time: timestamp,
  trigger: z.enum(['schedule', 'request']),
  request: z.nullable(z.object({ event_id: z.string(), actor: z.string(), reason: z.nullable(z.string()) })),
  previous: z.nullable(z.object({ key: checkpointKey, digest: sha256Hex })),
  skipped: z.array(z.object({ key: checkpointKey, digest: sha256Hex })),
  chain_count: z.int().check(z.minimum(0)),
  findings: z.array(z.extend(auditFinding, { subject: z.string() })),
  verified: z.literal(true),
  newer_invalid: z.array(auditFinding),
});

export const deploymentState = z.enum(DEPLOYMENT_STATES);

/** An X-Ray trace id: the request that created the deployment and every workflow step after it (ADR 28). */
const traceId = z
  .string()
  .check(
    z.regex(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/),
    z.describe('The X-Ray trace of the request that created it; its workflow steps run in the same trace.'),
  );

const deploymentKind = z.enum(['deploy', 'rollback']);
const revision = z.int().check(z.minimum(1));
const count = z.int().check(z.minimum(0));

const step = z.object({
  state: deploymentState,
  at: timestamp,
  actor: z.string().check(z.describe('Who moved it: a user’s sub, or `slipway` for the workflow.')),
  detail: z.optional(z.string()),
});

const digest = z
  .string()
  .check(
    z.regex(/^sha256:[a-f0-9]{64}$/),
    z.describe('The digest the pods ran, read from the cluster when the rollout completed.'),
  );

const rollout = z.object({ desired: count, updated: count, ready: count, available: count });

/** One attempt to put an image on an environment (kind `deploy`) or to put back an earlier release (`rollback`). */
export const deployment = z.object({
  id: resourceId('dep'),
  kind: deploymentKind,
  app_id: resourceId('app'),
  app_name: dnsLabel,
  project_id: resourceId('prj'),
  env: dnsLabel,
  image: z.string().check(z.describe('The full image reference, completed with the application’s repository.')),
  replicas: z.int().check(z.minimum(0), z.maximum(100)),
  strategy: rolloutStrategy,
  progress_deadline_seconds: z.int().check(z.minimum(5), z.maximum(3600)),
  description: z.optional(description),
  state: deploymentState,
  steps: z.array(step).check(z.describe('Every state it has passed, oldest first.')),
  requested_by: userId,
  status_url: z.string().check(z.describe('Where to watch it: GET answers its status.')),
  target_revision: z.optional(revision.check(z.describe('For a rollback: the release it puts back.'))),
  revision: z.optional(revision.check(z.describe('The release it recorded, once it reached the cluster.'))),
  reason: z.optional(z.string().check(z.describe('Why it failed, rolled back, was rejected or expired.'))),
  rollout: z.optional(rollout),
  digest: z.optional(digest),
  approval_id: z.optional(resourceId('apr')),
  run_id: z.optional(resourceId('run').check(z.describe('The pipeline run whose deploy stage this is.'))),
  commit: z.optional(
    deployedCommit.check(
      z.describe('The commit shipped (the request’s or the run’s): where its DORA lead time starts.'),
    ),
  ),
  freeze_override: z.optional(
    z
      .object({
        reason: z.string(),
        by: userId,
        freeze: z.optional(z.object({ id: resourceId('frz'), name: z.string(), ends_at: timestamp })),
      })
      .check(z.describe('Asked for with `override_freeze`: why, by whom, and the freeze it went past.')),
  ),
  trace_id: z.optional(traceId),
  version,
  created_at: timestamp,
  updated_at: timestamp,
  finished_at: z.optional(timestamp),
});

/** `GET /deployments/{id}/status`: what a pipeline polls until `final`. */
export const deploymentStatus = z.object({
  id: resourceId('dep'),
  state: deploymentState,
  final: z.boolean().check(z.describe('True once the state can no longer change.')),
  steps: z.array(step),
  rollout: z.optional(rollout),
  reason: z.optional(z.string()),
  trace_id: z.optional(traceId),
  queue: z.optional(
    z
      .object({
        holder: z.nullable(resourceId('dep')),
        position: z.nullable(z.int().check(z.minimum(1))),
      })
      .check(z.describe('The environment lock: who holds it, and this deployment’s place in line.')),
  ),
  approval: z.optional(
    z.object({
      id: resourceId('apr'),
      state: z.enum(APPROVAL_STATES),
      approvals: count.check(z.describe('Approving votes so far.')),
      minimum_approvals: z.int().check(z.minimum(1)),
      expires_at: timestamp,
      votes: z
        .array(
          z.object({
            by: z.string(),
            decision: z.enum(['approve', 'reject']),
            at: timestamp,
            via: z.optional(z.enum(CHAT_KINDS).check(z.describe('The chat platform, for a vote from chat.'))),
          }),
        )
        .check(z.describe('Who decided, how, when and where.')),
    }),
  ),
});

/** One revision in an environment's release history. */
export const release = z.object({
  revision,
  image: z.string(),
  digest: z.optional(digest),
  replicas: z.int().check(z.minimum(0), z.maximum(100)),
  strategy: rolloutStrategy,
  progress_deadline_seconds: z.optional(z.int().check(z.minimum(5), z.maximum(3600))),
  deployment_id: resourceId('dep'),
  kind: deploymentKind,
  deployed_by: userId,
  deployed_at: timestamp,
  outcome: z.enum(['succeeded', 'rolled_back', 'failed']),
  restored_revision: z.optional(revision.check(z.describe('For a rollback: the revision it restored.'))),
});

/** A freeze window as it applies to one environment. */
const envFreeze = z.object({
  freeze_id: z.string(),
  name: z.string(),
  scope: z.string().check(z.describe('Where the freeze applies, as a scope path (platform, project/<id>, …).')),
  starts_at: timestamp,
  ends_at: timestamp,
});

/** What runs in an environment now and its calendar: the freezes and the next scheduled fire. */
const envOutlook = {
  current_release: z
    .nullable(release)
    .check(z.describe('The last release that succeeded here, or null before the first.')),
  active_freeze: z.nullable(envFreeze).check(z.describe('The freeze in force on deploys now, if any.')),
  next_freeze: z.nullable(envFreeze).check(z.describe('The next freeze to start here, if any.')),
  next_fire: z
    .nullable(
      z.object({
        schedule_id: z.string(),
        name: z.string(),
        action: z.string().check(z.describe('deploy, promote or rollback.')),
        at: timestamp,
        local: z.string().check(z.describe('The same instant in the schedule’s time zone.')),
      }),
    )
    .check(z.describe('The soonest fire of an enabled schedule for this environment.')),
};

/** One environment as `GET /apps/{id}/envs/{env}` shows it: with what runs there now and its calendar. */
export const envWithRelease = z.object({ ...env.shape, ...envOutlook });

/** One row of `GET /environments`: an environment across apps, the release calendar at a glance. */
export const environmentRow = z.object({
  app: z.object({ id: resourceId('app'), name: dnsLabel }),
  project_id: resourceId('prj'),
  name: dnsLabel,
  cluster: z.object({ id: resourceId('cls'), name: z.nullable(z.string()) }),
  namespace: dnsLabel,
  tier: envTier,
  ...envOutlook,
});

const vote = z.object({
  by: userId,
  decision: z.enum(['approve', 'reject']),
  comment: z.optional(z.string().check(z.maxLength(1000))),
  at: timestamp,
  via: z.optional(
    z
      .enum(CHAT_KINDS)
      .check(z.describe('The chat platform the vote came from (a button or command); absent for the API.')),
  ),
});

/** A chat identity linked to a Slipway user (issue 13). */
export const chatLink = z.object({
  id: z.string().check(z.regex(/^lnk_[0-9a-f]{26}$/)),
  platform: z.enum(CHAT_KINDS),
  tenant: z.string().check(z.describe('Slack team id, Feishu tenant_key, DingTalk corpId or WeCom CorpID.')),
  user: z.string().check(z.describe("The chat user's id on that platform.")),
  sub: userId,
  linked_at: timestamp,
});

/** A one-time link code, shown once. */
export const linkCode = z.object({
  code: z.optional(z.string().check(z.regex(/^[0-9A-Z]{10}$/))),
  expires_at: timestamp,
  how: z.optional(z.string()),
});

/** What a chat platform is answered: its own format (a reply, a toast, a challenge, a passive reply). */
export const chatAnswer = z.looseObject({});

/** A protected environment's gate for one deployment. */
export const approval = z.object({
  id: resourceId('apr'),
  deployment_id: resourceId('dep'),
  app_id: resourceId('app'),
  app_name: dnsLabel,
  project_id: resourceId('prj'),
  env: dnsLabel,
  image: z.string(),
  requested_by: userId,
  state: z.enum(APPROVAL_STATES),
  approver_teams: z.array(resourceId('team')),
  minimum_approvals: z.int().check(z.minimum(1), z.maximum(10)),
  prevent_self_approval: z.boolean(),
  votes: z.array(vote),
  expires_at: timestamp,
  created_at: timestamp,
  updated_at: timestamp,
  version,
});

const { commit, context, dockerfile, build_args, target, cache } = newBuild.shape;
/** A build: a commit of an application built into `<image_repository>:<sha>` by a Job on its build cluster. */
export const build = z.object({
  id: resourceId('bld'),
  app_id: resourceId('app'),
  app_name: dnsLabel,
  project_id: resourceId('prj'),
  run_id: z.optional(z.string().check(z.describe('The pipeline run that started it, if one did.'))),
  commit,
  context,
  dockerfile,
  build_args,
  target,
  cache,
  state: z.enum(BUILD_STATES),
  image: z.string().check(z.describe('`<image_repository>:<sha>`: the tag the build pushes.')),
  digest: z.optional(
    z
      .string()
      .check(
        z.regex(/^sha256:[0-9a-f]{64}$/),
        z.describe('What was pushed, once it succeeded: deploy `<image_repository>@<digest>`.'),
      ),
  ),
  cluster_id: resourceId('cls'),
  job: z.optional(z.object({ namespace: dnsLabel, name: dnsLabel })),
  log: z.object({
    bytes: z.int().check(z.minimum(0), z.describe('Size of the stored log: the offset of its end.')),
    chunks: z.int().check(z.minimum(0)),
  }),
  reason: z.optional(z.string().check(z.describe('Why it failed or was cancelled.'))),
  requested_by: userId,
  logs_url: z.string(),
  created_at: timestamp,
  updated_at: timestamp,
  started_at: z.optional(timestamp),
  finished_at: z.optional(timestamp),
});

/** A pipeline: its definition as of `version` (every change is a new version; earlier ones stay readable). */
export const pipeline = z.object({
  id: resourceId('pln'),
  ...newPipeline.shape,
  project_id: resourceId('prj'),
  ...stamped,
});

export const runState = z.enum(RUN_STATES);

const runStage = z.object({
  name: dnsLabel,
  type: z.enum(['build', 'deploy']),
  env: z.optional(dnsLabel),
  state: z.enum(STAGE_STATES),
  started_at: z.optional(timestamp),
  finished_at: z.optional(timestamp),
  actor: z.optional(userId.check(z.describe('Who the stage acts for: whoever started the run.'))),
  build_id: z.optional(z.string().check(z.describe('The build the build stage started.'))),
  deployment_id: z.optional(resourceId('dep').check(z.describe('The deployment a deploy stage started.'))),
  reason: z.optional(z.string().check(z.describe('Why it failed or was cancelled.'))),
});

/** One commit through one version of a pipeline: `GET` it until `state` is final. */
export const run = z.object({
  id: resourceId('run'),
  pipeline_id: resourceId('pln'),
  pipeline_name: dnsLabel,
  pipeline_version: version.check(z.describe('The version of the definition this run runs.')),
  app_id: resourceId('app'),
  app_name: dnsLabel,
  project_id: resourceId('prj'),
  commit,
  deploy: z.boolean().check(z.describe('False for pull-request runs, which build and deploy nothing.')),
  state: runState,
  stages: z.array(runStage).check(z.describe('In the order they run: the build, then each deploy stage.')),
  image: z.optional(
    z.string().check(z.describe('What the build produced, `<repository>@sha256:…`: what every deploy stage deploys.')),
  ),
  reason: z.optional(z.string()),
  retry_of: z.optional(resourceId('run')),
  requested_by: userId,
  url: z.string().check(z.describe('This run: GET it to follow it.')),
  version,
  created_at: timestamp,
  updated_at: timestamp,
  started_at: z.optional(timestamp),
  finished_at: z.optional(timestamp),
});

/** A Git webhook endpoint; its secret is only in the answers that create or rotate it. */
export const webhook = z.object({
  id: resourceId('hook'),
  app_id: resourceId('app'),
  project_id: resourceId('prj'),
  provider: z.enum(['github', 'gitlab']),
  events: z.array(z.enum(['push', 'tag_push', 'pull_request'])),
  repository_id: z.optional(z.string()),
  url: z.string().check(z.describe('Where the provider posts: `/api/v1/hooks/{provider}/{id}` on the public URL.')),
  secret_version: version.check(z.describe('Goes up by one on every rotation.')),
  verified_at: z.optional(timestamp.check(z.describe('When a ping last arrived, signed with its secret.'))),
  rotated_at: z.optional(timestamp),
  previous_secret_valid_until: z.optional(timestamp),
  version,
  created_by: userId.check(z.describe('Whom the runs its deliveries start act for, as they are at dispatch.')),
  created_at: timestamp,
  updated_at: timestamp,
});

export const webhookWithSecret = z.object({
  ...webhook.shape,
  secret: z.string().check(z.describe('Shown this once: paste it in the provider’s webhook settings.')),
});

/** A project's chat channel: where and what it gets; its webhook URL and secret are never shown. */
export const channel = z.object({
  id: resourceId('chn'),
  project_id: resourceId('prj'),
  platform: z.enum(CHANNEL_PLATFORMS),
  name: z.optional(z.string()),
  host: z
    .string()
    .check(z.describe('The webhook URL’s host; the URL itself holds the platform’s key and is never returned.')),
  secret_set: z.boolean().check(z.describe('Whether a signing secret is stored (Feishu, DingTalk).')),
  filters: channelFilters,
  credentials_version: version.check(z.describe('Goes up by one whenever the URL or the secret changes.')),
  version,
  created_by: userId,
  created_at: timestamp,
  updated_at: timestamp,
});

/** What the platform answered a test message. */
export const channelTest = z.object({
  delivered: z.boolean(),
  status: z.optional(z.int().check(z.describe('The platform’s HTTP status, when it answered.'))),
  code: z.optional(
    z.string().check(z.describe('The platform’s own error code (Feishu code, DingTalk/WeCom errcode, Slack’s body).')),
  ),
  reason: z.optional(z.string().check(z.describe('Why it was not delivered, without the URL or the secret.'))),
});

/** One delivery as the log shows it. */
export const delivery = z.object({
  hook_id: resourceId('hook'),
  delivery_id: z.string(),
  event: z.string().check(z.describe('X-GitHub-Event or X-Gitlab-Event.')),
  received_at: timestamp,
  ref: z.optional(z.string()),
  sha: z.optional(z.string()),
  outcome: z.object({
    status: z.enum(['pending', 'dispatched', 'ignored', 'refused']),
    reason: z.optional(z.string()),
    runs: z.optional(z.array(z.object({ pipeline_id: resourceId('pln'), run_id: resourceId('run') }))),
    skipped: z.optional(z.array(z.object({ pipeline_id: resourceId('pln'), reason: z.string() }))),
  }),
  duration_ms: z.optional(z.int().check(z.describe('From receipt to the outcome.'))),
  replayed_at: z.optional(timestamp),
  replayed_by: z.optional(userId),
});

/** A DORA band (Accelerate State of DevOps 2023); null when there is nothing to measure. */
const band = z.nullable(z.enum(['elite', 'high', 'medium', 'low']));
const doraMetrics = {
  deployment_frequency: z.object({
    deployments: z.int().check(z.describe('Deploys that succeeded (rollbacks are not counted).')),
    per_day: z.number(),
    band,
  }),
  lead_time_for_changes: z.object({
    mean_seconds: z.nullable(z.number().check(z.describe('Commit time → successful deploy, mean.'))),
    changes: z.int().check(z.describe('Successful deploys that named their commit.')),
    band,
  }),
  change_failure_rate: z.object({
    rate: z.nullable(z.number()),
    failures: z
      .int()
      .check(z.describe('Deploys that failed or rolled back, or that a rollback replaced within the window.')),
    deployments: z.int().check(z.describe('Deploys that reached the cluster and ended.')),
    band,
  }),
  failed_deployment_recovery_time: z.object({
    mean_seconds: z.nullable(z.number().check(z.describe('Failure → next success in the environment, mean.'))),
    recoveries: z.int(),
    band,
  }),
};

/** `GET /metrics/dora`: the range's four metrics and, per period, the same four. */
export const doraReport = z.object({
  project_id: resourceId('prj'),
  app_id: z.optional(resourceId('app')),
  name: z.string().check(z.describe('The application’s name (with app_id), else the project’s.')),
  env: z.optional(dnsLabel),
  from: z.iso.date(),
  to: z.iso.date(),
  interval: z.enum(INTERVALS),
  rollback_window_hours: z.number(),
  metrics: z.object(doraMetrics),
  series: z.array(z.object({ start: z.iso.date(), days: z.int(), ...doraMetrics })),
});

/** One fire of a schedule: the deployment it made, or why it made none. */
export const fire = z.object({
  fire_time: timestamp.check(z.describe('When it was due (Scheduler’s scheduled time).')),
  fired_at: timestamp,
  outcome: z.enum(['deployed', 'failed', 'missed']),
  deployment_id: z.optional(resourceId('dep')),
  reason: z.optional(z.string().check(z.describe('Why it made no deployment.'))),
});

const upcoming = z.object({
  at: timestamp,
  local: z.string().check(z.describe('The same instant on the schedule’s wall clock, with its offset.')),
});

/** A scheduled deploy, promotion or rollback of one environment, acting as its owner. */
export const schedule = z.object({
  id: resourceId('sch'),
  app_id: resourceId('app'),
  app_name: dnsLabel,
  project_id: resourceId('prj'),
  env: dnsLabel,
  ...scheduleFields,
  enabled: z.boolean(),
  owner: userId.check(
    z.describe('Whose rights each fire uses, checked again at the fire: whoever last created or changed it.'),
  ),
  state: z.enum(['active', 'completed']).check(z.describe('`completed` once a one-time schedule has fired.')),
  next_fires: z
    .array(upcoming)
    .check(z.describe('The next five fires (or the one `at`); none while paused or completed.')),
  last_fire: z.optional(fire),
  version,
  created_at: timestamp,
  updated_at: timestamp,
});

const interval = z.object({ starts_at: timestamp, ends_at: timestamp });

/** A freeze window on a scope, with the interval in force now and the next one. */
export const freeze = z.object({
  id: resourceId('frz'),
  scope: z.string().check(z.describe('`platform`, `project/<id>`, `project/<id>/app/<id>` or `…/env/<name>`.')),
  ...freezeFields,
  window: freezeWindow,
  allow_rollbacks: z.boolean(),
  active: z.nullable(interval).check(z.describe('The interval in force now (overlapping recurrences merged).')),
  next: z.nullable(interval).check(z.describe('The next interval to start.')),
  ...stamped,
});
