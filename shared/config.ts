/**
 * The configuration contract: every environment variable a function reads, named once, with a
 * typed getter. infra/aws sets them on each function and the local cloud on its own process, both
 * by these names (ENV). Getters read on each use, not at import, so the local cloud and tests may
 * set a variable after a module loaded; parsing is cheap and cached per raw value.
 */
export const ENV = {
  /** The one DynamoDB table. */
  tableName: 'TABLE_NAME',
  /** The platform's EventBridge bus (the event publisher). */
  eventBusName: 'EVENT_BUS_NAME',
  /** The deploy and rollback state machines (the functions that start and stop them). */
  deployStateMachineArn: 'DEPLOY_STATE_MACHINE_ARN',
  rollbackStateMachineArn: 'ROLLBACK_STATE_MACHINE_ARN',
  /** The build state machine (the builds API starts it). */
  buildStateMachineArn: 'BUILD_STATE_MACHINE_ARN',
  /** The pipeline state machine (the runs API starts and stops runs; a run's step stops superseded ones). */
  pipelineStateMachineArn: 'PIPELINE_STATE_MACHINE_ARN',
  /** The cluster builds run on when their application names none (the builds API; a pipeline's build step). */
  buildClusterId: 'SLIPWAY_BUILD_CLUSTER_ID',
  /** Where build Jobs run on the build cluster, and with which builder image (the builder). */
  buildNamespace: 'SLIPWAY_BUILD_NAMESPACE',
  buildImage: 'SLIPWAY_BUILD_IMAGE',
  /** Name prefix of the registry and Git credential secrets of builds (the builder). */
  buildSecretPrefix: 'SLIPWAY_BUILD_SECRET_PREFIX',
  /** Name prefix of the Git webhook endpoints' secrets (the webhooks API and the hook receiver). */
  hookSecretPrefix: 'SLIPWAY_HOOK_SECRET_PREFIX',
  /** The chat channels secret (the notifier). */
  chatSecretArn: 'SLIPWAY_CHAT_SECRET_ARN',
  /** The chat platforms' apps (`slipway/chat/apps`: callbacks and bot APIs). */
  chatAppsSecret: 'SLIPWAY_CHAT_APPS_SECRET',
  /** Name prefix of the project chat channels' secrets (the channels API and the notifier). */
  chatChannelSecretPrefix: 'SLIPWAY_CHAT_CHANNEL_SECRET_PREFIX',
  /** Self-hosted chat hosts a project channel may post to besides the platforms' own (still never private addresses). */
  chatHosts: 'SLIPWAY_CHAT_HOSTS',
  /** Hosts a project channel may reach over plain http at a private address: the local chat receiver only. */
  chatAllowPrivateHosts: 'SLIPWAY_CHAT_ALLOW_PRIVATE_HOSTS',
  /** Where commit statuses go when an app names no API base URL (default the public APIs; locally the Git provider simulator). */
  githubApiUrl: 'SLIPWAY_GITHUB_API_URL',
  gitlabApiUrl: 'SLIPWAY_GITLAB_API_URL',
  /** Hosts a Git provider API may be on over plain http at a private address: the local simulator only. */
  gitAllowPrivateHosts: 'SLIPWAY_GIT_ALLOW_PRIVATE_HOSTS',
  /** The operators' CloudWatch dashboard: the link of every alarm message (the alarm notifier). */
  dashboardUrl: 'SLIPWAY_DASHBOARD_URL',
  /** Where people reach the API: chat links and the OpenAPI server. */
  publicUrl: 'SLIPWAY_PUBLIC_URL',
  /** Token groups that make a platform admin, comma-separated. */
  adminGroups: 'SLIPWAY_ADMIN_GROUPS',
  /** The claim holding the caller's groups, and the delimiter a string claim is split on (none by default). */
  groupsClaim: 'SLIPWAY_GROUPS_CLAIM',
  groupsDelimiter: 'SLIPWAY_GROUPS_DELIMITER',
  /** How long an environment lock holds without a renewal. */
  lockLeaseSeconds: 'SLIPWAY_LOCK_LEASE_SECONDS',
  /** Namespaces no environment may use, besides default and kube-*. */
  reservedNamespaces: 'SLIPWAY_RESERVED_NAMESPACES',
  /** CIDRs and host names a cluster's private address must lie in; loopback ip:port pairs allowed locally. */
  clusterAllowedNetworks: 'SLIPWAY_CLUSTER_ALLOWED_NETWORKS',
  clusterAllowLoopbackHosts: 'SLIPWAY_CLUSTER_ALLOW_LOOPBACK_HOSTS',
  /** The HMAC key list cursors are signed with (at least 32 characters; no default). */
  cursorKey: 'SLIPWAY_CURSOR_KEY',
  /** The audit checkpoints' Object Lock bucket, signing key and retention (ADR 15). */
  auditBucket: 'SLIPWAY_AUDIT_BUCKET',
  auditKeyId: 'SLIPWAY_AUDIT_KEY_ID',
  auditRetentionDays: 'SLIPWAY_AUDIT_RETENTION_DAYS',
  /** Set only where S3 is an S3-compatible server addressed by path (the local cloud). */
  s3Endpoint: 'AWS_ENDPOINT_URL_S3',
  /** Per-caller quotas: writes a minute per user, deploy or rollback requests a minute per environment. */
  quotaWritesPerMinute: 'SLIPWAY_QUOTA_WRITES_PER_MINUTE',
  quotaDeploysPerMinute: 'SLIPWAY_QUOTA_DEPLOYS_PER_MINUTE',
  /**
   * EventBridge Scheduler (the schedules API keeps one Scheduler schedule per Slipway schedule): the
   * schedule group, the function every schedule invokes (schedule-fire), the role Scheduler
   * assumes to invoke it, and the queue undeliverable fires go to (ADR 24).
   */
  scheduleGroup: 'SLIPWAY_SCHEDULE_GROUP',
  scheduleTargetArn: 'SLIPWAY_SCHEDULE_TARGET_ARN',
  schedulerRoleArn: 'SLIPWAY_SCHEDULER_ROLE_ARN',
  scheduleDlqArn: 'SLIPWAY_SCHEDULE_DLQ_ARN',
  /** The release the API reports (health, OpenAPI). */
  version: 'SLIPWAY_VERSION',
  /** How soon after a deploy a rollback away from it counts the deploy as a change failure (DORA, ADR 29). */
  doraRollbackWindowHours: 'SLIPWAY_DORA_ROLLBACK_WINDOW_HOURS',
  /** Powertools' service name on every log line. */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

export type WorkflowKind = 'deploy' | 'rollback' | 'build' | 'pipeline';
/** The variable holding each workflow's state machine ARN (set for the functions that start or stop it). */
export const STATE_MACHINE_ARN: Readonly<Record<WorkflowKind, EnvName>> = {
  deploy: ENV.deployStateMachineArn,
  rollback: ENV.rollbackStateMachineArn,
  build: ENV.buildStateMachineArn,
  pipeline: ENV.pipelineStateMachineArn,
};

/** A variable's value; unset and empty are the same. */
export const readEnv = (name: EnvName): string | undefined => {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
};

const lists = new Map<string, string[]>();
/** A comma-separated variable, blanks dropped. */
export function readList(name: EnvName): string[] {
  const raw = readEnv(name) ?? '';
  let list = lists.get(raw);
  if (!list) {
    list = raw
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    lists.set(raw, list);
  }
  return list;
}

/** A variable the function cannot work without: its absence is a deployment fault, said plainly. */
export function requireEnv(name: EnvName): string {
  const value = readEnv(name);
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

export const config = {
  get tableName(): string {
    return readEnv(ENV.tableName) ?? 'slipway';
  },
  get eventBusName(): string | undefined {
    return readEnv(ENV.eventBusName);
  },
  stateMachineArn(kind: WorkflowKind): string {
    return requireEnv(STATE_MACHINE_ARN[kind]);
  },
  get buildClusterId(): string | undefined {
    return readEnv(ENV.buildClusterId);
  },
  get buildNamespace(): string {
    return readEnv(ENV.buildNamespace) ?? 'slipway-builds';
  },
  get buildImage(): string | undefined {
    return readEnv(ENV.buildImage);
  },
  get buildSecretPrefix(): string {
    return readEnv(ENV.buildSecretPrefix) ?? 'slipway/builds/';
  },
  get hookSecretPrefix(): string {
    return readEnv(ENV.hookSecretPrefix) ?? 'slipway/hooks/';
  },
  get chatSecretArn(): string | undefined {
    return readEnv(ENV.chatSecretArn);
  },
  get chatAppsSecret(): string | undefined {
    return readEnv(ENV.chatAppsSecret);
  },
  get chatChannelSecretPrefix(): string {
    return readEnv(ENV.chatChannelSecretPrefix) ?? 'slipway/chat/channels/';
  },
  get chatHosts(): string[] {
    return readList(ENV.chatHosts);
  },
  get chatAllowPrivateHosts(): string[] {
    return readList(ENV.chatAllowPrivateHosts);
  },
  get githubApiUrl(): string | undefined {
    return readEnv(ENV.githubApiUrl);
  },
  get gitlabApiUrl(): string | undefined {
    return readEnv(ENV.gitlabApiUrl);
  },
  get gitAllowPrivateHosts(): string[] {
    return readList(ENV.gitAllowPrivateHosts);
  },
  get dashboardUrl(): string | undefined {
    return readEnv(ENV.dashboardUrl);
  },
  get publicUrl(): string | undefined {
    return readEnv(ENV.publicUrl);
  },
  get adminGroups(): ReadonlySet<string> {
    return new Set(readEnv(ENV.adminGroups) === undefined ? ['platform-admins'] : readList(ENV.adminGroups));
  },
  get groupsClaim(): string {
    return readEnv(ENV.groupsClaim) ?? 'groups';
  },
  /** Unlike other settings, a blank delimiter is not "unset" but still means none. */
  get groupsDelimiter(): string | undefined {
    return process.env[ENV.groupsDelimiter] || undefined;
  },
  get lockLeaseSeconds(): number {
    return Number(readEnv(ENV.lockLeaseSeconds) ?? 900);
  },
  get reservedNamespaces(): string[] {
    return readList(ENV.reservedNamespaces);
  },
  get clusterAllowedNetworks(): string {
    return readEnv(ENV.clusterAllowedNetworks) ?? '';
  },
  get clusterAllowLoopbackHosts(): string {
    return readEnv(ENV.clusterAllowLoopbackHosts) ?? '';
  },
  get cursorKey(): string | undefined {
    return readEnv(ENV.cursorKey);
  },
  /** Where the schedules API puts its Scheduler schedules, and what they invoke (ADR 24). */
  get scheduleTarget(): { group: string; targetArn: string; roleArn: string; deadLetterArn: string } {
    return {
      group: requireEnv(ENV.scheduleGroup),
      targetArn: requireEnv(ENV.scheduleTargetArn),
      roleArn: requireEnv(ENV.schedulerRoleArn),
      deadLetterArn: requireEnv(ENV.scheduleDlqArn),
    };
  },
  get version(): string | undefined {
    return readEnv(ENV.version);
  },
  get doraRollbackWindowHours(): number {
    return Number(readEnv(ENV.doraRollbackWindowHours) ?? 24);
  },
  get serviceName(): string {
    return readEnv(ENV.serviceName) ?? 'slipway';
  },
};
