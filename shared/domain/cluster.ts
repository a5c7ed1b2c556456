import * as z from 'zod/mini';
import { clusterUrlRefusal } from '../net/cluster-egress.ts';
import { description, dnsLabel, httpsUrl, secretArn } from './fields.ts';

/**
 * How Slipway authenticates to a cluster: an IAM role it assumes (EKS), a token kept in Secrets
 * Manager, or a kubeconfig kept there (kind, k3s, on-prem: client certificates) of which only the
 * user's credentials are used. Secrets are only referenced, and references are never returned.
 */
export const clusterAuth = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('eks-iam'),
    role_arn: z
      .string()
      .check(
        z.maxLength(2048),
        z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'must be an IAM role ARN'),
      ),
    eks_cluster_name: z.string().check(z.minLength(1), z.maxLength(100), z.regex(/^[0-9A-Za-z][A-Za-z0-9\-_]*$/)),
  }),
  z.strictObject({ mode: z.literal('token'), token_secret_arn: secretArn }),
  z.strictObject({
    mode: z.literal('kubeconfig'),
    kubeconfig_secret_arn: secretArn,
    // Context names are free text in a kubeconfig (EKS uses the cluster ARN): bounded, no control characters.
    context: z.optional(
      z
        .string()
        .check(
          z.minLength(1),
          z.maxLength(253),
          z.regex(/^[^\p{Cc}]+$/u, 'must have no control characters'),
          z.describe('The kubeconfig context whose user Slipway uses; its current-context when left out.'),
        ),
    ),
  }),
]);

const caData = z.string().check(
  z.minLength(1),
  z.maxLength(16 * 1024),
  z.refine((value) => {
    const pem = /^[A-Za-z0-9+/]+={0,2}$/.test(value) ? Buffer.from(value, 'base64').toString('utf8') : '';
    return pem.includes('-----BEGIN CERTIFICATE-----');
  }, 'must be the base64 of a PEM certificate, as in a kubeconfig certificate-authority-data'),
);

/** The address the deployer will connect to, with credentials: never this machine, its link or the metadata service (ADR 13). */
const apiServerUrl = httpsUrl.check(
  z.superRefine((value, context) => {
    const refusal = URL.canParse(value) ? clusterUrlRefusal(value) : undefined;
    if (!refusal) return;
    context.addIssue({ code: 'custom', input: value, message: `not an address Slipway connects to: ${refusal}` });
  }),
);

export const clusterChanges = z.strictObject({
  description: z.optional(description),
  region: z
    .string()
    .check(z.regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, 'must be an AWS region such as eu-west-1')),
  api_server_url: apiServerUrl,
  ca_data: caData,
  auth: clusterAuth,
});

export const newCluster = z.strictObject({ name: dnsLabel, ...clusterChanges.shape });

export type NewCluster = z.infer<typeof newCluster>;

/** What reaching a cluster needs from its stored record (the secret reference included). */
export type ClusterTarget = Pick<NewCluster, 'name' | 'region' | 'api_server_url' | 'ca_data' | 'auth'> & {
  id: string;
};

/** The API's view of a cluster: a secret reference (token or kubeconfig) is never shown, only that one is set. */
export type ClusterView = Omit<NewCluster, 'auth'> & {
  id: string;
  version: number;
  auth:
    | { mode: 'eks-iam'; role_arn: string; eks_cluster_name: string }
    | { mode: 'token'; token_configured: true }
    | { mode: 'kubeconfig'; kubeconfig_configured: true; context?: string };
};
