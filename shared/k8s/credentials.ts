/**
 * What Slipway presents to a cluster's API server. Token mode reads a bearer token from Secrets
 * Manager; kubeconfig mode reads a kubeconfig from there and keeps its user's credentials only;
 * eks-iam mode assumes the cluster's role and builds the token EKS accepts (what `aws eks get-token`
 * prints): a presigned STS GetCallerIdentity URL, so no aws-iam-authenticator.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ClusterTarget } from '../domain/cluster.ts';
import { ClusterConfigInvalid, type ClusterUser, userFromKubeconfig } from './kubeconfig.ts';

export interface ClusterCredentials {
  user: ClusterUser;
  /** Epoch ms after which the credentials must not be used. */
  expiresAt: number;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const secrets = new SecretsManagerClient({});
const sts = new STSClient({});

/** EKS accepts a token for 15 minutes after signing, whatever X-Amz-Expires says. */
const EKS_TOKEN_LIFETIME_MS = 15 * 60_000;
/** A stored secret may be rotated: read it again after a while. */
const SECRET_LIFETIME_MS = 5 * 60_000;
/** Refresh this long before expiry, so a token never expires between our check and the request. */
const REFRESH_MARGIN_MS = 60_000;

const cache = new Map<string, ClusterCredentials>();

/** Cached per cluster (and per auth setting, which an update may change) until a minute before expiry. */
export async function clusterCredentials(cluster: ClusterTarget): Promise<ClusterCredentials> {
  const key = cacheKey(cluster);
  const cached = cache.get(key);
  if (cached && Date.now() < cached.expiresAt - REFRESH_MARGIN_MS) return cached;
  const fresh = await fetchCredentials(cluster);
  cache.set(key, fresh);
  return fresh;
}

/** After the cluster refused the credentials (401), the next call fetches new ones. */
export function forgetCredentials(cluster: ClusterTarget): void {
  cache.delete(cacheKey(cluster));
}

function cacheKey(cluster: ClusterTarget): string {
  return JSON.stringify([cluster.id, cluster.region, cluster.auth]);
}

async function fetchCredentials(cluster: ClusterTarget): Promise<ClusterCredentials> {
  const { auth } = cluster;
  if (auth.mode === 'token') {
    const token = tokenFromSecret(await secretString(auth.token_secret_arn));
    return { user: { token }, expiresAt: Date.now() + SECRET_LIFETIME_MS };
  }
  if (auth.mode === 'kubeconfig') {
    const user = kubeconfigUser(cluster, await secretString(auth.kubeconfig_secret_arn), auth.context);
    return { user, expiresAt: Date.now() + SECRET_LIFETIME_MS };
  }
  const assumed = await sts.send(
    new AssumeRoleCommand({ RoleArn: auth.role_arn, RoleSessionName: 'slipway-deployer', DurationSeconds: 3600 }),
  );
  const role = assumed.Credentials;
  if (!role?.AccessKeyId || !role.SecretAccessKey)
    throw new Error(`AssumeRole ${auth.role_arn} returned no credentials`);
  const now = new Date();
  const token = await eksToken({
    clusterName: auth.eks_cluster_name,
    region: cluster.region,
    credentials: {
      accessKeyId: role.AccessKeyId,
      secretAccessKey: role.SecretAccessKey,
      sessionToken: role.SessionToken,
    },
    signingDate: now,
  });
  const roleExpiry = role.Expiration?.getTime() ?? Number.POSITIVE_INFINITY;
  return { user: { token }, expiresAt: Math.min(now.getTime() + EKS_TOKEN_LIFETIME_MS, roleExpiry) };
}

/** A secret's current text, by ARN or name (the one Secrets Manager client of the cluster functions). */
export async function secretString(secretId: string): Promise<string | undefined> {
  return (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
}

/** The kubeconfig's refusal, naming the cluster the way every cluster error does. */
function kubeconfigUser(cluster: ClusterTarget, kubeconfig: string | undefined, context?: string): ClusterUser {
  try {
    return userFromKubeconfig(kubeconfig ?? '', context);
  } catch (error) {
    if (!(error instanceof ClusterConfigInvalid)) throw error;
    throw new ClusterConfigInvalid(`cluster ${cluster.name} (${cluster.api_server_url}): ${error.message}`);
  }
}

/** The secret holds the raw token, or JSON `{ "token": "..." }`. */
function tokenFromSecret(secret: string | undefined): string {
  const text = secret?.trim() ?? '';
  if (text.startsWith('{')) {
    const token = jsonToken(text);
    if (token) return token;
    throw new ClusterConfigInvalid('The cluster token secret is not JSON with a "token" string');
  }
  if (text.length === 0) throw new ClusterConfigInvalid('The cluster token secret is empty');
  return text;
}

/** JSON.parse's error quotes the text, here a secret: it must not reach a deployment's reason. */
function jsonToken(text: string): string | undefined {
  try {
    const { token } = JSON.parse(text) as { token?: unknown };
    return typeof token === 'string' && token.length > 0 ? token : undefined;
  } catch {
    return undefined;
  }
}

export interface EksTokenInput {
  clusterName: string;
  region: string;
  credentials: AwsCredentials;
  signingDate?: Date;
}

/** `k8s-aws-v1.` + base64url (unpadded) of an STS GetCallerIdentity URL presigned for 60 s. */
export async function eksToken(input: EksTokenInput): Promise<string> {
  const hostname = `sts.${input.region}.amazonaws.com`;
  const signer = new SignatureV4({
    service: 'sts',
    region: input.region,
    credentials: input.credentials,
    sha256: Hash.bind(null, 'sha256'),
  });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      // EKS checks the signed x-k8s-aws-id: a token for one cluster is refused by another.
      headers: { host: hostname, 'x-k8s-aws-id': input.clusterName },
    },
    { expiresIn: 60, signingDate: input.signingDate ?? new Date() },
  );
  const url = new URL(`https://${hostname}/`);
  for (const [name, value] of Object.entries(presigned.query ?? {})) {
    for (const one of [value].flat()) if (one !== null) url.searchParams.append(name, one);
  }
  return `k8s-aws-v1.${Buffer.from(url.href).toString('base64url')}`;
}
