/**
 * Routes and functions, declared once. `infra/aws` turns this into NodejsFunctions and HTTP API
 * routes; `infra/local` turns it into the local gateway's routing table. Handlers never read it.
 */

export type FunctionName =
  | 'projects'
  | 'apps'
  | 'clusters'
  | 'identity'
  | 'meta'
  | 'deployments'
  | 'approvals'
  | 'audit'
  | 'lock'
  | 'approval-request'
  | 'deployer'
  | 'record-outcome'
  | 'event-publisher'
  | 'notifier'
  | 'auditor'
  | 'audit-checkpointer'
  | 'workflow-watch'
  | 'builds'
  | 'builder'
  | 'build-watch'
  | 'pipelines'
  | 'runs'
  | 'pipeline-step'
  | 'commit-status'
  | 'webhooks'
  | 'hook'
  | 'hook-dispatcher'
  | 'metrics'
  | 'schedules'
  | 'schedule-fire'
  | 'freezes'
  | 'freeze-watch'
  | 'alarm-notifier'
  | 'chat'
  | 'channels';

/**
 * What a function may reach beyond the table; infra/aws grants exactly these (least privilege).
 * - `start-workflows`: StartExecution on the deploy and rollback state machines, StopExecution on their executions
 * - `answer-approvals`: SendTaskSuccess/Failure on them
 * - `put-events`: PutEvents on the platform bus
 * - `cluster-secrets`: read cluster tokens in Secrets Manager and assume cluster roles (EKS)
 * - `chat-secret`: read the chat channel configuration secret
 * - `cluster-networks`: the platform's allowed cluster networks, for functions that check or reach cluster URLs
 * - `sign-cursors`: the key that signs list cursors (SLIPWAY_CURSOR_KEY), for functions that list
 * - `record-events`: for a function that otherwise only reads the table, write outbox events and
 *   its callers' idempotency records, and no other item
 * - `audit-checkpoints-read`: read audit checkpoints (S3) and the signing key's public key (KMS)
 * - `audit-checkpoints-write`: sign audit checkpoints (KMS) and store them under Object Lock (S3)
 * - `start-builds`: StartExecution on the build state machine, StopExecution on its executions
 * - `build-secrets`: read the registry and Git credentials of builds (Secrets Manager, under the build secret prefix)
 * - `run-pipelines`: StartExecution on the pipeline state machine, and everything `cancel-runs` grants
 * - `cancel-runs`: StopExecution on pipeline executions and on deploy executions (a run's deployment is cancelled with it)
 * - `git-tokens`: read the Git provider tokens commit statuses are posted with (Secrets Manager, under their prefix)
 * - `hook-secrets`: create, rotate, read and delete the Git webhook endpoints' secrets (Secrets Manager, under the hook secret prefix)
 * - `read-hook-secrets`: read them only (the public hook route verifies deliveries with them)
 * - `manage-schedules`: create, update, get and delete EventBridge Scheduler schedules in the
 *   platform's schedule group, and pass the scheduler role to them (ADR 24)
 * - `chat-apps`: read the chat apps' credentials (`slipway/chat/apps`: callback verification, bot APIs)
 * - `channel-secrets`: create, change, read and delete the project chat channels' secrets (Secrets Manager, under the channel secret prefix)
 * - `read-channel-secrets`: read them only (the notifier posts with them)
 */
export type Capability =
  | 'start-workflows'
  | 'run-pipelines'
  | 'cancel-runs'
  | 'answer-approvals'
  | 'put-events'
  | 'cluster-secrets'
  | 'chat-secret'
  | 'cluster-networks'
  | 'sign-cursors'
  | 'record-events'
  | 'audit-checkpoints-read'
  | 'audit-checkpoints-write'
  | 'start-builds'
  | 'build-secrets'
  | 'git-tokens'
  | 'hook-secrets'
  | 'read-hook-secrets'
  | 'manage-schedules'
  | 'chat-apps'
  | 'channel-secrets'
  | 'read-channel-secrets';

/** Platform settings a function reads; infra/aws passes each as its environment variable when set. */
export type Setting =
  | 'reserved-namespaces'
  | 'build-cluster'
  | 'build-namespace'
  | 'build-image'
  | 'git-private-hosts'
  | 'dashboard'
  | 'chat-hosts'
  | 'dora-rollback-window';

export interface FunctionSpec {
  name: FunctionName;
  /** Module (relative to the repository root) that exports `handler`. */
  entry: string;
  description: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** Least privilege on the one table. */
  tableAccess: 'none' | 'read' | 'readwrite';
  /**
   * Who calls it: API Gateway routes, a state machine task, a bus rule or schedule, the table
   * stream, EventBridge Scheduler (the schedules users make, ADR 24), or the alarm topic (SNS, ADR 28).
   */
  trigger?: 'api' | 'workflow' | 'bus' | 'stream' | 'scheduler' | 'alarm';
  capabilities?: readonly Capability[];
  /**
   * `reserved-namespaces`: SLIPWAY_RESERVED_NAMESPACES; `build-cluster`: SLIPWAY_BUILD_CLUSTER_ID (the
   * default build cluster); `build-namespace`: SLIPWAY_BUILD_NAMESPACE; `build-image`: SLIPWAY_BUILD_IMAGE;
   * `git-private-hosts`: SLIPWAY_GIT_ALLOW_PRIVATE_HOSTS (a GitHub Enterprise or GitLab on a private network);
   * `dashboard`: SLIPWAY_DASHBOARD_URL (the operators' CloudWatch dashboard);
   * `chat-hosts`: SLIPWAY_CHAT_HOSTS (self-hosted chat hosts project channels may post to);
   * `dora-rollback-window`: SLIPWAY_DORA_ROLLBACK_WINDOW_HOURS (a rollback this soon after a deploy makes it a change failure).
   */
  settings?: readonly Setting[];
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
    capabilities: ['sign-cursors'],
  },
  {
    name: 'apps',
    entry: 'functions/apps/handler.ts',
    description: 'Applications and environments API',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    settings: ['reserved-namespaces', 'git-private-hosts'],
    capabilities: ['sign-cursors'],
  },
  {
    name: 'clusters',
    entry: 'functions/clusters/handler.ts',
    description: 'Clusters API',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    capabilities: ['cluster-networks', 'sign-cursors'],
  },
  {
    name: 'identity',
    entry: 'functions/identity/handler.ts',
    description: 'Users, teams, roles and role bindings API',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    capabilities: ['sign-cursors'],
  },
  {
    name: 'meta',
    entry: 'functions/meta/handler.ts',
    description: 'Health, OpenAPI document and rendered docs',
    memoryMb: 256,
    timeoutSeconds: 5,
    tableAccess: 'none',
  },
  {
    name: 'deployments',
    entry: 'functions/deployments/handler.ts',
    description: 'Deployments, releases and rollbacks API',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    capabilities: ['start-workflows', 'sign-cursors'],
  },
  {
    name: 'approvals',
    entry: 'functions/approvals/handler.ts',
    description: 'Approvals API: list, approve, reject',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    capabilities: ['answer-approvals', 'sign-cursors'],
  },
  {
    name: 'audit',
    entry: 'functions/audit/handler.ts',
    description: 'Audit log API, chain verification against the signed checkpoints, checkpoint requests',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'read',
    capabilities: ['sign-cursors', 'audit-checkpoints-read', 'record-events'],
  },
  {
    name: 'lock',
    entry: 'functions/lock/handler.ts',
    description: 'Workflow step: acquire, renew and release the environment lock',
    memoryMb: 256,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    trigger: 'workflow',
  },
  {
    name: 'approval-request',
    entry: 'functions/approval-request/handler.ts',
    description: 'Workflow step: record an approval request with its task token',
    memoryMb: 256,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    trigger: 'workflow',
  },
  {
    name: 'deployer',
    entry: 'functions/deployer/handler.ts',
    description: 'Workflow step: apply workloads to clusters and read rollout status',
    memoryMb: 512,
    timeoutSeconds: 30,
    tableAccess: 'readwrite',
    trigger: 'workflow',
    capabilities: ['cluster-secrets', 'cluster-networks'],
  },
  {
    name: 'record-outcome',
    entry: 'functions/record-outcome/handler.ts',
    description: 'Workflow step: record the start, releases and outcome of deployments',
    memoryMb: 256,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    trigger: 'workflow',
    // Counts a deploy a rollback replaced within the window as a change failure (DORA counters, ADR 29).
    settings: ['dora-rollback-window'],
  },
  {
    name: 'event-publisher',
    entry: 'functions/event-publisher/handler.ts',
    description: 'Puts outbox change events from the table stream on the bus',
    memoryMb: 256,
    timeoutSeconds: 30,
    tableAccess: 'none',
    trigger: 'stream',
    capabilities: ['put-events'],
  },
  {
    name: 'notifier',
    entry: 'functions/notifier/handler.ts',
    description: 'Sends change events to chat channels (Slack, Feishu, DingTalk, WeCom), keeps approval cards in step',
    memoryMb: 256,
    timeoutSeconds: 15,
    // Reads approvals and the event's project's channels; writes where each approval's card sits (CHATMSG#…, ADR 31).
    tableAccess: 'readwrite',
    trigger: 'bus',
    // The bots' credentials (the platforms' apps) post and update the cards; project channels post with their own.
    capabilities: ['chat-secret', 'chat-apps', 'read-channel-secrets'],
    settings: ['chat-hosts'],
  },
  {
    name: 'alarm-notifier',
    entry: 'functions/alarm-notifier/handler.ts',
    description: "Sends CloudWatch alarms to the platform's chat channels, with a link to the dashboard",
    memoryMb: 256,
    timeoutSeconds: 15,
    tableAccess: 'none',
    trigger: 'alarm',
    capabilities: ['chat-secret'],
    settings: ['dashboard'],
  },
  {
    name: 'auditor',
    entry: 'functions/auditor/handler.ts',
    description: 'Appends change events to the hash-chained audit log',
    memoryMb: 256,
    timeoutSeconds: 15,
    tableAccess: 'readwrite',
    trigger: 'bus',
  },
  {
    // The one holder of the checkpoint key's Sign and of writes to the checkpoint bucket; it only reads the table.
    name: 'audit-checkpointer',
    entry: 'functions/audit-checkpointer/handler.ts',
    description: 'Writes signed checkpoints of every audit chain head to S3 Object Lock',
    memoryMb: 512,
    timeoutSeconds: 120,
    tableAccess: 'read',
    trigger: 'bus',
    capabilities: ['audit-checkpoints-read', 'audit-checkpoints-write'],
  },
  {
    name: 'workflow-watch',
    entry: 'functions/workflow-watch/handler.ts',
    description: 'Ends deployments whose workflow stopped or timed out without recording it, and frees their lock',
    memoryMb: 256,
    timeoutSeconds: 15,
    tableAccess: 'readwrite',
    trigger: 'bus',
  },
  {
    name: 'builds',
    entry: 'functions/builds/handler.ts',
    description: 'Builds API: request, read, list, and the build log (text or Server-Sent Events)',
    memoryMb: 512,
    // An event-stream answer waits up to 10 s for new lines.
    timeoutSeconds: 20,
    tableAccess: 'readwrite',
    capabilities: ['start-builds', 'sign-cursors'],
    settings: ['build-cluster'],
  },
  {
    name: 'builder',
    entry: 'functions/builder/handler.ts',
    description: 'Workflow step: run builds as Kubernetes Jobs, collect their logs, record how they end',
    memoryMb: 512,
    timeoutSeconds: 45,
    tableAccess: 'readwrite',
    trigger: 'workflow',
    capabilities: ['cluster-secrets', 'cluster-networks', 'build-secrets'],
    settings: ['build-namespace', 'build-image'],
  },
  {
    name: 'build-watch',
    entry: 'functions/build-watch/handler.ts',
    description: 'Ends builds whose workflow was stopped or timed out, and deletes their Job',
    memoryMb: 512,
    timeoutSeconds: 30,
    tableAccess: 'readwrite',
    trigger: 'bus',
    capabilities: ['cluster-secrets', 'cluster-networks'],
  },
  {
    name: 'pipelines',
    entry: 'functions/pipelines/handler.ts',
    description: 'Pipelines API: definitions as JSON or YAML, versioned (the only function with a YAML parser)',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    capabilities: ['sign-cursors'],
  },
  {
    name: 'runs',
    entry: 'functions/runs/handler.ts',
    description: 'Pipeline runs API: run, list, read, cancel, retry, and the build log of the newest run',
    memoryMb: 512,
    // An event-stream answer of the log waits up to 10 s for new lines.
    timeoutSeconds: 20,
    tableAccess: 'readwrite',
    capabilities: ['run-pipelines', 'sign-cursors'],
  },
  {
    name: 'pipeline-step',
    entry: 'functions/pipeline-step/handler.ts',
    description: "Workflow step: take a run's turn, record its build and deployments, end it",
    memoryMb: 256,
    timeoutSeconds: 15,
    tableAccess: 'readwrite',
    trigger: 'workflow',
    capabilities: ['cancel-runs'],
  },
  {
    name: 'commit-status',
    entry: 'functions/commit-status/handler.ts',
    description: "Reports pipeline runs as commit statuses to the app's Git provider (GitHub, GitLab)",
    memoryMb: 256,
    timeoutSeconds: 15,
    tableAccess: 'read',
    trigger: 'bus',
    capabilities: ['git-tokens'],
    settings: ['git-private-hosts'],
  },
  {
    name: 'webhooks',
    entry: 'functions/webhooks/handler.ts',
    description: 'Git webhook endpoints API: create, list, delete, rotate, the delivery log and replays',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    capabilities: ['hook-secrets', 'sign-cursors'],
  },
  {
    // Public: verifies, deduplicates and stores a delivery, then answers; runs start behind the bus.
    name: 'hook',
    entry: 'functions/hook/handler.ts',
    description: 'Git provider deliveries (GitHub, GitLab): verify, store once, answer 202',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    capabilities: ['read-hook-secrets'],
  },
  {
    name: 'hook-dispatcher',
    entry: 'functions/hook-dispatcher/handler.ts',
    description: 'Starts the pipeline runs a stored Git push or pull request triggers',
    memoryMb: 512,
    timeoutSeconds: 30,
    tableAccess: 'readwrite',
    trigger: 'bus',
    capabilities: ['run-pipelines'],
  },
  {
    name: 'metrics',
    entry: 'functions/metrics/handler.ts',
    description: 'DORA metrics API: JSON and an SVG chart, from the daily delivery counters',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'read',
    settings: ['dora-rollback-window'],
  },
  {
    name: 'schedules',
    entry: 'functions/schedules/handler.ts',
    description: 'Schedules API: scheduled deploys, promotions and rollbacks, and their fire history',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    capabilities: ['manage-schedules', 'sign-cursors'],
  },
  {
    // The target of every Scheduler schedule (shared/calendar/scheduler.ts).
    name: 'schedule-fire',
    entry: 'functions/schedule-fire/handler.ts',
    description: 'Fires a schedule as its owner: the deployment, promotion or rollback, or why none (ADR 26)',
    memoryMb: 512,
    timeoutSeconds: 30,
    tableAccess: 'readwrite',
    trigger: 'scheduler',
    capabilities: ['start-workflows'],
  },
  {
    name: 'freezes',
    entry: 'functions/freezes/handler.ts',
    description: 'Freeze windows API: create, list, read, change, delete',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    capabilities: ['sign-cursors'],
  },
  {
    name: 'freeze-watch',
    entry: 'functions/freeze-watch/handler.ts',
    description: 'Tells freezes starting and ending (Freeze Started, Freeze Ended), once per window',
    memoryMb: 256,
    timeoutSeconds: 30,
    tableAccess: 'readwrite',
    trigger: 'bus',
  },
  {
    // Public: the platform's signature is the authentication; answers within the platforms' 3 s.
    name: 'chat',
    entry: 'functions/chat/handler.ts',
    description:
      'Chat callbacks (Slack, Feishu/Lark, DingTalk, WeCom): verify, decide approvals, link identities, commands',
    memoryMb: 512,
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    capabilities: ['chat-apps', 'answer-approvals'],
  },
  {
    name: 'channels',
    entry: 'functions/channels/handler.ts',
    description:
      "A project's chat channels API: create, list, change, delete and test (credentials in Secrets Manager)",
    memoryMb: 512,
    // A test message may take the delivery timeout (5 s) on top of the reads.
    timeoutSeconds: 10,
    tableAccess: 'readwrite',
    capabilities: ['channel-secrets', 'sign-cursors'],
    settings: ['chat-hosts'],
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
  r('GET', '/environments', 'apps'),
  r('PATCH', '/apps/{id}/envs/{env}', 'apps'),
  r('DELETE', '/apps/{id}/envs/{env}', 'apps'),

  r('GET', '/clusters', 'clusters'),
  r('POST', '/clusters', 'clusters'),
  r('GET', '/clusters/{id}', 'clusters'),
  r('PATCH', '/clusters/{id}', 'clusters'),
  r('DELETE', '/clusters/{id}', 'clusters'),

  r('GET', '/users', 'identity'),
  r('GET', '/users/me', 'identity'),
  r('POST', '/users/me/chat-links', 'identity'),
  r('GET', '/users/me/chat-links', 'identity'),
  r('DELETE', '/users/me/chat-links/{link}', 'identity'),
  r('DELETE', '/users/{sub}/chat-links/{link}', 'identity'),
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

  r('POST', '/apps/{id}/deploy', 'deployments'),
  r('GET', '/deployments', 'deployments'),
  r('POST', '/deployments', 'deployments'),
  r('GET', '/deployments/{id}', 'deployments'),
  r('GET', '/deployments/{id}/status', 'deployments'),
  r('POST', '/deployments/{id}/cancel', 'deployments'),
  r('GET', '/apps/{id}/envs/{env}/releases', 'deployments'),
  r('POST', '/rollbacks', 'deployments'),
  r('POST', '/apps/{id}/promote', 'deployments'),

  r('GET', '/approvals', 'approvals'),
  r('GET', '/approvals/{id}', 'approvals'),
  r('POST', '/approvals/{id}/approve', 'approvals'),
  r('POST', '/approvals/{id}/reject', 'approvals'),

  r('GET', '/audit', 'audit'),
  r('GET', '/audit/verify', 'audit'),
  r('POST', '/audit/checkpoints', 'audit'),
  r('GET', '/audit/checkpoints/latest', 'audit'),

  r('GET', '/builds', 'builds'),
  r('POST', '/builds', 'builds'),
  r('GET', '/builds/{id}', 'builds'),
  r('GET', '/builds/{id}/logs', 'builds'),
  r('POST', '/builds/{id}/cancel', 'builds'),

  r('GET', '/pipelines', 'pipelines'),
  r('POST', '/pipelines', 'pipelines'),
  r('GET', '/pipelines/{id}', 'pipelines'),
  r('PUT', '/pipelines/{id}', 'pipelines'),
  r('PATCH', '/pipelines/{id}', 'pipelines'),
  r('DELETE', '/pipelines/{id}', 'pipelines'),
  r('POST', '/pipelines/{id}/run', 'runs'),
  r('GET', '/pipelines/{id}/runs', 'runs'),
  r('GET', '/pipelines/{id}/logs', 'runs'),
  r('GET', '/runs/{id}', 'runs'),
  r('POST', '/runs/{id}/cancel', 'runs'),
  r('POST', '/runs/{id}/retry', 'runs'),

  r('GET', '/apps/{id}/webhooks', 'webhooks'),
  r('POST', '/apps/{id}/webhooks', 'webhooks'),
  r('GET', '/apps/{id}/webhooks/{hook_id}', 'webhooks'),
  r('DELETE', '/apps/{id}/webhooks/{hook_id}', 'webhooks'),
  r('POST', '/apps/{id}/webhooks/{hook_id}/rotate', 'webhooks'),
  r('GET', '/apps/{id}/webhooks/{hook_id}/deliveries', 'webhooks'),
  r('POST', '/apps/{id}/webhooks/{hook_id}/deliveries/{delivery_id}/replay', 'webhooks'),
  r('POST', '/hooks/{provider}/{hook_id}', 'hook', true),

  r('GET', '/projects/{id}/channels', 'channels'),
  r('POST', '/projects/{id}/channels', 'channels'),
  r('GET', '/projects/{id}/channels/{channel_id}', 'channels'),
  r('PATCH', '/projects/{id}/channels/{channel_id}', 'channels'),
  r('DELETE', '/projects/{id}/channels/{channel_id}', 'channels'),
  r('POST', '/projects/{id}/channels/{channel_id}/test', 'channels'),

  r('GET', '/metrics/dora', 'metrics'),
  r('GET', '/metrics/dora.svg', 'metrics'),
  r('GET', '/schedules', 'schedules'),
  r('POST', '/schedules', 'schedules'),
  r('GET', '/schedules/{id}', 'schedules'),
  r('PATCH', '/schedules/{id}', 'schedules'),
  r('DELETE', '/schedules/{id}', 'schedules'),
  r('GET', '/schedules/{id}/fires', 'schedules'),
  r('GET', '/freezes', 'freezes'),
  r('POST', '/freezes', 'freezes'),
  r('GET', '/freezes/{id}', 'freezes'),
  r('PATCH', '/freezes/{id}', 'freezes'),
  r('DELETE', '/freezes/{id}', 'freezes'),
  r('POST', '/chat/slack/interactions', 'chat', true),
  r('POST', '/chat/slack/commands', 'chat', true),
  r('POST', '/chat/feishu/events', 'chat', true),
  r('POST', '/chat/dingtalk/events', 'chat', true),
  r('GET', '/chat/wecom/events', 'chat', true),
  r('POST', '/chat/wecom/events', 'chat', true),
];

/** The platform's EventBridge bus. */
export const EVENT_BUS_NAME = 'slipway';

export interface RuleSpec {
  name: string;
  description: string;
  /** EventBridge event pattern (the local bus implements the same language). */
  pattern: Record<string, unknown>;
  target: FunctionName;
  /**
   * `platform` (default): our own bus. `aws`: events AWS services send, which arrive on the
   * account's default bus (Step Functions execution status changes).
   */
  bus?: 'platform' | 'aws';
  /** Explicit retry policy; a target that keeps failing lands in the rule's dead-letter queue. */
  retry: { maximumRetryAttempts: number; maximumEventAgeSeconds: number };
}

export const rules: readonly RuleSpec[] = [
  {
    name: 'notify',
    description: 'Change events to chat channels',
    pattern: { source: [{ prefix: 'slipway.' }] },
    target: 'notifier',
    retry: { maximumRetryAttempts: 8, maximumEventAgeSeconds: 3600 },
  },
  {
    name: 'audit',
    description: 'Every change event into the audit log',
    pattern: { source: [{ prefix: 'slipway.' }] },
    target: 'auditor',
    retry: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 },
  },
  {
    name: 'audit-checkpoint-requested',
    description: 'A checkpoint of the audit chains asked for through the API',
    pattern: { source: ['slipway.audit'], 'detail-type': ['Audit Checkpoint Requested'] },
    target: 'audit-checkpointer',
    retry: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 },
  },
  {
    name: 'workflow-ended',
    description: 'A deploy or rollback execution that was stopped, timed out or failed outside its own Catch',
    bus: 'aws',
    pattern: {
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'] },
    },
    target: 'workflow-watch',
    retry: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 },
  },
  {
    name: 'build-ended',
    description: 'A build execution that was stopped (its run cancelled) or timed out: end the build, delete its Job',
    bus: 'aws',
    pattern: {
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['ABORTED', 'TIMED_OUT'] },
    },
    target: 'build-watch',
    retry: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 },
  },
  {
    name: 'commit-status',
    description: 'Pipeline runs as commit statuses at the Git provider',
    pattern: {
      source: ['slipway.pipelines'],
      'detail-type': [
        'Pipeline Run Started',
        'Pipeline Run Succeeded',
        'Pipeline Run Failed',
        'Pipeline Run Cancelled',
      ],
    },
    target: 'commit-status',
    // As the notifier: a provider outage of up to an hour is ridden out; later, the status would mislead.
    retry: { maximumRetryAttempts: 8, maximumEventAgeSeconds: 3600 },
  },
  {
    name: 'git-received',
    description: 'A stored Git push or pull request: start the pipeline runs it triggers',
    pattern: { source: ['slipway.hooks'], 'detail-type': ['Git Push Received', 'Git Pull Request Received'] },
    target: 'hook-dispatcher',
    // A push older than an hour is better replayed by hand than started late.
    retry: { maximumRetryAttempts: 24, maximumEventAgeSeconds: 3600 },
  },
];

export interface ScheduleSpec {
  name: string;
  description: string;
  /** `rate(N minutes)`: a scheduled EventBridge rule on AWS, a timer in the local cloud. */
  everyMinutes: number;
  target: FunctionName;
  retry: { maximumRetryAttempts: number; maximumEventAgeSeconds: number };
}

export const schedules: readonly ScheduleSpec[] = [
  {
    name: 'audit-checkpoint',
    description: 'A signed checkpoint of every audit chain head (skipped when nothing changed)',
    everyMinutes: 5,
    target: 'audit-checkpointer',
    // A missed tick is made up by the next one: no point retrying it for long.
    retry: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 300 },
  },
  {
    name: 'freeze-watch',
    description: 'Freezes starting and ending: their events, once per window (the check itself needs no timer)',
    everyMinutes: 1,
    target: 'freeze-watch',
    // The next tick tells what this one missed: a retry older than a minute only races it.
    retry: { maximumRetryAttempts: 1, maximumEventAgeSeconds: 60 },
  },
];

/** The table stream's consumer: outbox items only (Lambda filter criteria, same pattern language). */
export const streamConsumer = {
  function: 'event-publisher' as FunctionName,
  filter: { eventName: ['INSERT'], dynamodb: { Keys: { PK: { S: [{ prefix: 'OUTBOX#' }] } } } },
  batchSize: 25,
};

/** The stage the local cloud runs as: its workflows are named like a deployed stage's. */
export const LOCAL_STAGE = 'local';

/** A state machine's name on a stage, the same function on AWS and in the local cloud: `slipway-dev-deploy`. */
export const workflowName = (stage: string, machine: string): string => `slipway-${stage}-${machine}`;

/** The stage's EventBridge Scheduler group, which holds one schedule per Slipway schedule (ADR 24). */
export const scheduleGroupName = (stage: string): string => `slipway-${stage}`;

export type StateMachineName = 'deploy' | 'rollback' | 'build' | 'pipeline';

export interface StateMachineSpec {
  name: StateMachineName;
  /** ASL with `${Name}` placeholders, used unchanged by CDK (definitionSubstitutions) and the local cloud. */
  file: string;
  /** Placeholder → the function whose ARN replaces it. */
  functions: Readonly<Record<string, FunctionName>>;
  /**
   * Placeholder → the state machine whose ARN replaces it: the machines this one runs as nested
   * executions (`states:startExecution.sync:2`). Declared before it in `stateMachines`.
   */
  stateMachines?: Readonly<Record<string, StateMachineName>>;
}

const stepFunctions = {
  LockFunctionArn: 'lock',
  ApprovalRequestFunctionArn: 'approval-request',
  DeployerFunctionArn: 'deployer',
  RecordOutcomeFunctionArn: 'record-outcome',
} as const;

export const stateMachines: readonly StateMachineSpec[] = [
  { name: 'deploy', file: 'statemachines/deploy.asl.json', functions: stepFunctions },
  { name: 'rollback', file: 'statemachines/rollback.asl.json', functions: stepFunctions },
  { name: 'build', file: 'statemachines/build.asl.json', functions: { BuilderFunctionArn: 'builder' } },
  {
    name: 'pipeline',
    file: 'statemachines/pipeline.asl.json',
    functions: { PipelineStepFunctionArn: 'pipeline-step' },
    stateMachines: { BuildStateMachineArn: 'build', DeployStateMachineArn: 'deploy' },
  },
];

/** `GET /api/v1/projects/{id}`: the API Gateway route key. */
export const routeKey = (route: RouteSpec): string => `${route.method} ${route.path}`;
