import type { Node } from 'constructs';

/**
 * Deployment settings. Each one comes from CDK context (`-c key=value` or cdk.json) first, then
 * from the environment, then a default. Nothing here looks anything up in an AWS account, so
 * `cdk synth` works offline.
 */
export interface SlipwayConfig {
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
  /** Table deletion protection; when off the table is also destroyed with its stack (dev stages). */
  deletionProtection: boolean;
  /** Powertools log level of every function. */
  logLevel: string;
  /** Steady-state requests per second and burst for the whole API ($default stage). */
  throttleRateLimit: number;
  throttleBurstLimit: number;
  /** Browser origins allowed by CORS; empty means CORS stays off (API clients are not browsers). */
  corsOrigins: string[];
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
  /** Days each audit checkpoint stays undeletable (S3 Object Lock, compliance mode: nobody can shorten it). */
  auditRetentionDays: number;
}

/** Context key → environment variable that may stand in for it. */
const ENV: Record<string, string> = {
  stage: 'SLIPWAY_STAGE',
  issuerUrl: 'SLIPWAY_ISSUER_URL',
  audience: 'SLIPWAY_AUDIENCE',
  adminGroups: 'SLIPWAY_ADMIN_GROUPS',
  corsOrigins: 'SLIPWAY_CORS_ORIGINS',
  publicUrl: 'SLIPWAY_PUBLIC_URL',
};

/** What the console shows and what IAM matches exactly: the name plus Secrets Manager's 6-character suffix. */
const COMPLETE_SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;

export function readConfig(node: Node, env: NodeJS.ProcessEnv = process.env): SlipwayConfig {
  // CLI context values arrive as strings, cdk.json ones as JSON: accept both.
  const raw = (key: string): string | undefined => {
    const value = node.tryGetContext(key) ?? (ENV[key] ? env[ENV[key]] : undefined);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const value = raw(key);
    if (value === undefined) return fallback;
    if (value !== 'true' && value !== 'false') throw new Error(`Context ${key} must be true or false, got "${value}"`);
    return value === 'true';
  };
  const int = (key: string, fallback: number): number => {
    const value = Number(raw(key) ?? fallback);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`Context ${key} must be a positive integer`);
    return value;
  };

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

  return {
    stage,
    issuerUrl,
    audience: raw('audience') ?? 'slipway',
    adminGroups: raw('adminGroups') ?? 'platform-admins',
    deletionProtection: bool('deletionProtection', true),
    logLevel: (raw('logLevel') ?? 'INFO').toUpperCase(),
    throttleRateLimit: int('throttleRateLimit', 50),
    throttleBurstLimit: int('throttleBurstLimit', 100),
    corsOrigins: (raw('corsOrigins') ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    nag: bool('nag', false),
    clusterSecretPrefix,
    clusterRolePattern,
    chatSecretArn,
    publicUrl: httpsOrigin(raw('publicUrl')),
    auditRetentionDays: retentionDays(int('auditRetentionDays', 365)),
  };
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
