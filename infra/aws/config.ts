import type { Node } from 'constructs';
import { parseAllowedNetworks } from '../../shared/net/cluster-egress.ts';
import {
  API_SETTING_ENV,
  type ApiSettings,
  parseBoolean,
  parsePositiveInteger,
  readApiSettings,
} from '../api-settings.ts';

/**
 * Deployment settings. Each one comes from CDK context (`-c key=value` or cdk.json) first, then
 * from the environment, then a default. Nothing here looks anything up in an AWS account, so
 * `cdk synth` works offline.
 */
export interface SlipwayConfig extends ApiSettings {
  /** Names the stacks (`Slipway-<stage>-Data`) and resources, so stages can share an account. */
  stage: string;
  /**
   * OIDC issuer the JWT authorizer trusts (its discovery document must be public). Undefined:
   * the ApiStack asks for it as a CloudFormation parameter, so synth works and deploy refuses
   * to start until one is given.
   */
  issuerUrl: string | undefined;
  /** Expected `aud` claim. */
  audience: string;
  /** Comma list of IdP groups that act as platform admins (read by the functions). */
  adminGroups: string;
  /** The token claim holding the caller's groups (`groups`, `cognito:groups`, `roles`...). */
  groupsClaim: string;
  /** Set only if the IdP sends several groups in one string claim, joined by this (ADR 17). */
  groupsDelimiter: string | undefined;
  /** Table deletion protection; when off the table is also destroyed with its stack (dev stages). */
  deletionProtection: boolean;
  /** Powertools log level of every function. */
  logLevel: string;
  /** Run cdk-nag's AwsSolutions checks during synth. */
  nag: boolean;
  /** Name prefix of the cluster token secrets the deployer may read (this account and region). */
  clusterSecretPrefix: string;
  /** IAM role ARN pattern the deployer may assume to reach EKS clusters (any account by default). */
  clusterRolePattern: string;
  /**
   * Complete ARN of an existing chat configuration secret. Undefined: the DeliveryStack creates
   * `slipway/<stage>/chat` holding an empty configuration (no channels).
   */
  chatSecretArn: string | undefined;
  /** Where people reach the API (a custom domain): chat messages link deployments and approvals there. */
  publicUrl: string | undefined;
  /** Namespaces no environment may use, besides `default` and `kube-*` (ADR 12; read by the functions that place environments). */
  reservedNamespaces: string[];
  /**
   * CIDRs and host names private cluster addresses must lie in (ADR 13); empty: any private
   * address. Never widens: loopback, link-local and metadata addresses stay refused.
   */
  clusterAllowedNetworks: string[];
  /**
   * Version of the cursor key secret the functions get. Undefined: its current version when the
   * functions were last deployed. Set it to a new VersionId to roll a rotated key out (ADR 14).
   */
  cursorKeyVersionId: string | undefined;
  /** Days each audit checkpoint stays undeletable (S3 Object Lock, compliance mode: nobody can shorten it). */
  auditRetentionDays: number;
  /** The registered cluster (`cls_…`) builds run on when their application names none; none: such builds are refused (422). */
  buildClusterId: string | undefined;
  /** The namespace of the build cluster where build Jobs run (created when missing). */
  buildNamespace: string;
  /** The builder image, when not the pinned rootless BuildKit (a mirror in your registry). */
  buildImage: string | undefined;
  /** Name prefix of the registry and Git credential secrets only the builder may read (ADR 18). */
  buildSecretPrefix: string;
  /** Name prefix of the Git provider tokens only the commit status function may read (ADR 23). */
  gitTokenSecretPrefix: string;
  /** Hosts of a GitHub Enterprise or GitLab on a private network that commit statuses may reach (ADR 23). */
  gitPrivateHosts: string[];
  /** Name prefix of the Git webhook endpoints' secrets (one per endpoint). */
  hookSecretPrefix: string;
  /**
   * Name of an existing chat apps' credentials secret (issue 13). Undefined: the DeliveryStack creates
   * `slipway/<stage>/chat/apps` holding no apps (`{}`), for operators to fill in.
   */
  chatAppsSecretName: string | undefined;
  /** Name prefix of the project chat channels' secrets (one per channel; ADR 32). */
  chatChannelSecretPrefix: string;
  /** Self-hosted chat hosts project channels may post to besides the platforms' own (ADR 32). */
  chatHosts: string[];
  /** How soon after a deploy a rollback away from it counts the deploy as a change failure (DORA, ADR 29). */
  doraRollbackWindowHours: number;
}

/** Context key → environment variable that may stand in for it. */
const ENV: Record<string, string> = {
  stage: 'SLIPWAY_STAGE',
  issuerUrl: 'SLIPWAY_ISSUER_URL',
  audience: 'SLIPWAY_AUDIENCE',
  adminGroups: 'SLIPWAY_ADMIN_GROUPS',
  groupsClaim: 'SLIPWAY_GROUPS_CLAIM',
  groupsDelimiter: 'SLIPWAY_GROUPS_DELIMITER',
  publicUrl: 'SLIPWAY_PUBLIC_URL',
  reservedNamespaces: 'SLIPWAY_RESERVED_NAMESPACES',
  gitPrivateHosts: 'SLIPWAY_GIT_ALLOW_PRIVATE_HOSTS',
  chatHosts: 'SLIPWAY_CHAT_HOSTS',
  doraRollbackWindowHours: 'SLIPWAY_DORA_ROLLBACK_WINDOW_HOURS',
  clusterAllowedNetworks: 'SLIPWAY_CLUSTER_ALLOWED_NETWORKS',
  ...API_SETTING_ENV,
  buildClusterId: 'SLIPWAY_BUILD_CLUSTER_ID',
  buildNamespace: 'SLIPWAY_BUILD_NAMESPACE',
  buildImage: 'SLIPWAY_BUILD_IMAGE',
};

/** What the console shows and what IAM matches exactly: the name plus Secrets Manager's 6-character suffix. */
const COMPLETE_SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;

export function readConfig(node: Node, env: NodeJS.ProcessEnv = process.env): SlipwayConfig {
  // CLI context values arrive as strings, cdk.json ones as JSON: accept both.
  const raw = (key: string): string | undefined => {
    const value = node.tryGetContext(key) ?? (ENV[key] ? env[ENV[key]] : undefined);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const bool = (key: string, fallback: boolean): boolean => parseBoolean(key, raw(key) ?? String(fallback));
  const int = (key: string, fallback: number): number => parsePositiveInteger(key, raw(key) ?? String(fallback));

  const stage = raw('stage') ?? 'dev';
  if (!/^[a-z][a-z0-9-]{0,15}$/.test(stage)) throw new Error(`Stage "${stage}" must match [a-z][a-z0-9-]{0,15}`);

  const issuerUrl = raw('issuerUrl');
  // API Gateway fetches `<issuer>/.well-known/openid-configuration` over HTTPS.
  if (issuerUrl !== undefined && !/^https:\/\/[^\s/]+/.test(issuerUrl)) {
    throw new Error(`issuerUrl must be an https URL, got "${issuerUrl}"`);
  }

  const clusterSecretPrefix = raw('clusterSecretPrefix') ?? 'slipway/clusters/';
  if (!/^[\w/+=.@-]+$/.test(clusterSecretPrefix)) throw new Error('clusterSecretPrefix must be a secret name prefix');
  // A literal role-name prefix is required: `role/*` would let the deployer become any role.
  const clusterRolePattern = raw('clusterRolePattern') ?? 'arn:aws:iam::*:role/slipway-deployer*';
  if (!/^arn:aws[a-z-]*:iam::(\d{12}|\*):role\/[\w+=,.@/-]+\*?$/.test(clusterRolePattern)) {
    throw new Error(`clusterRolePattern must be a role ARN with a literal name prefix, got "${clusterRolePattern}"`);
  }
  const chatSecretArn = raw('chatSecretArn');
  if (chatSecretArn !== undefined && !COMPLETE_SECRET_ARN.test(chatSecretArn)) {
    throw new Error('chatSecretArn must be the complete ARN of a secret (ending in its -XXXXXX suffix)');
  }

  const reservedNamespaces = list(raw('reservedNamespaces'));
  for (const namespace of reservedNamespaces) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace))
      throw new Error(`reservedNamespaces must be namespace names, got "${namespace}"`);
  }
  const cursorKeyVersionId = raw('cursorKeyVersionId');
  if (cursorKeyVersionId !== undefined && !/^[A-Za-z0-9-]{32,64}$/.test(cursorKeyVersionId)) {
    throw new Error('cursorKeyVersionId must be a Secrets Manager VersionId (32 to 64 letters, digits and -)');
  }

  const buildClusterId = raw('buildClusterId');
  if (buildClusterId !== undefined && !/^cls_[0-9a-hjkmnp-tv-z]{26}$/.test(buildClusterId)) {
    throw new Error(`buildClusterId must be a registered cluster's id (cls_…), got "${buildClusterId}"`);
  }
  const buildNamespace = raw('buildNamespace') ?? 'slipway-builds';
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(buildNamespace) || buildNamespace.startsWith('kube-')) {
    throw new Error(`buildNamespace must be a namespace name, not kube-*, got "${buildNamespace}"`);
  }
  const buildImage = raw('buildImage');
  if (buildImage !== undefined && !/^[\w./:@-]{1,400}$/.test(buildImage)) {
    throw new Error(`buildImage must be an image reference, got "${buildImage}"`);
  }
  const buildSecretPrefix = raw('buildSecretPrefix') ?? 'slipway/builds/';
  if (!/^[\w/+=.@-]+$/.test(buildSecretPrefix)) throw new Error('buildSecretPrefix must be a secret name prefix');
  const gitPrivateHosts = hostNames('gitPrivateHosts', raw);
  const chatHosts = hostNames('chatHosts', raw);
  const gitTokenSecretPrefix = raw('gitTokenSecretPrefix') ?? 'slipway/git-tokens/';
  if (!/^[\w/+=.@-]+$/.test(gitTokenSecretPrefix)) throw new Error('gitTokenSecretPrefix must be a secret name prefix');
  const hookSecretPrefix = raw('hookSecretPrefix') ?? 'slipway/hooks/';
  if (!/^[\w/+=.@-]+$/.test(hookSecretPrefix)) throw new Error('hookSecretPrefix must be a secret name prefix');
  const chatAppsSecretName = raw('chatAppsSecretName');
  if (chatAppsSecretName !== undefined && !/^[\w/+=.@-]+$/.test(chatAppsSecretName)) {
    throw new Error('chatAppsSecretName must be a secret name');
  }
  const chatChannelSecretPrefix = raw('chatChannelSecretPrefix') ?? 'slipway/chat/channels/';
  if (!/^[\w/+=.@-]+$/.test(chatChannelSecretPrefix)) {
    throw new Error('chatChannelSecretPrefix must be a secret name prefix');
  }

  return {
    stage,
    issuerUrl,
    audience: raw('audience') ?? 'slipway',
    adminGroups: raw('adminGroups') ?? 'platform-admins',
    groupsClaim: raw('groupsClaim') ?? 'groups',
    groupsDelimiter: raw('groupsDelimiter'),
    deletionProtection: bool('deletionProtection', true),
    logLevel: (raw('logLevel') ?? 'INFO').toUpperCase(),
    ...readApiSettings(raw),
    nag: bool('nag', false),
    clusterSecretPrefix,
    clusterRolePattern,
    chatSecretArn,
    publicUrl: httpsOrigin(raw('publicUrl')),
    reservedNamespaces,
    clusterAllowedNetworks: allowedNetworks(raw('clusterAllowedNetworks')),
    cursorKeyVersionId,
    auditRetentionDays: retentionDays(int('auditRetentionDays', 365)),
    buildClusterId,
    buildNamespace,
    buildImage,
    buildSecretPrefix,
    gitTokenSecretPrefix,
    gitPrivateHosts,
    hookSecretPrefix,
    chatAppsSecretName,
    chatChannelSecretPrefix,
    chatHosts,
    doraRollbackWindowHours: int('doraRollbackWindowHours', 24),
  };
}

/** A list of host names (or `*.domain`): never addresses, so no setting can open a private network by IP. */
function hostNames(key: string, raw: (key: string) => string | undefined): string[] {
  const hosts = list(raw(key));
  for (const host of hosts) {
    if (!/^(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+$/.test(host)) {
      throw new Error(`${key} must be host names (or *.domain), got "${host}"`);
    }
  }
  return hosts;
}

/** A comma-separated setting, blanks dropped. */
const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** Checked now as the functions will read it, so a typo fails the synth, not every cluster registration. */
function allowedNetworks(value: string | undefined): string[] {
  const entries = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  parseAllowedNetworks(entries.join(','));
  return entries;
}

/** S3 Object Lock takes at most 100 years; compliance mode cannot be undone, so a typo should not reach AWS. */
function retentionDays(days: number): number {
  if (days > 36_500) throw new Error(`auditRetentionDays must be at most 36500 (100 years), got ${days}`);
  return days;
}

function httpsOrigin(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^https:\/\/[^/\s]+\/?$/.test(value))
    throw new Error(`publicUrl must be an https origin such as https://deploy.example.com, got "${value}"`);
  return value.replace(/\/$/, '');
}
