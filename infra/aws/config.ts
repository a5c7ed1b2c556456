import type { Node } from 'constructs';
import { API_SETTING_ENV, type ApiSettings, parseBoolean, readApiSettings } from '../api-settings.ts';

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
}

/** Context key → environment variable that may stand in for it. */
const ENV: Record<string, string> = {
  stage: 'SLIPWAY_STAGE',
  issuerUrl: 'SLIPWAY_ISSUER_URL',
  audience: 'SLIPWAY_AUDIENCE',
  adminGroups: 'SLIPWAY_ADMIN_GROUPS',
  publicUrl: 'SLIPWAY_PUBLIC_URL',
  ...API_SETTING_ENV,
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
    ...readApiSettings(raw),
    nag: bool('nag', false),
    clusterSecretPrefix,
    clusterRolePattern,
    chatSecretArn,
    publicUrl: httpsOrigin(raw('publicUrl')),
  };
}

function httpsOrigin(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^https:\/\/[^/\s]+\/?$/.test(value))
    throw new Error(`publicUrl must be an https origin such as https://deploy.example.com, got "${value}"`);
  return value.replace(/\/$/, '');
}
