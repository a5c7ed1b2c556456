import * as z from 'zod/mini';
import { gitRefName } from './commit.ts';
import { isProviderApiUrl } from './commit-status.ts';
import { description, dnsLabel, httpsUrl, labels, resourceId, secretArn } from './fields.ts';

/** The provider's API root: GitHub Enterprise and self-managed GitLab name their own. */
export const providerApiUrl = z
  .string()
  .check(z.maxLength(2048), z.refine(isProviderApiUrl, 'must be an https URL without credentials, query or fragment'));

/** The Git repository an application builds and deploys from, and how runs report back to it (ADR 23). */
export const repository = z.strictObject({
  provider: z.enum(['github', 'gitlab']),
  url: httpsUrl,
  default_branch: gitRefName,
  /** GitHub Enterprise (`https://ghe.example.com/api/v3`) or self-managed GitLab (`https://gitlab.example.com/api/v4`). */
  api_base_url: z.optional(providerApiUrl),
  /** The provider token commit statuses are posted with; without it the app gets no commit statuses. */
  status_token_secret_arn: z.optional(
    secretArn.check(
      z.describe(
        'A Secrets Manager secret (named under slipway/git-tokens/) holding a token that may write commit statuses. Never shown back.',
      ),
    ),
  ),
});

/** How the app's Kubernetes objects are rendered from the repository. */
export const deployTemplate = z.strictObject({
  kind: z.enum(['manifests', 'helm', 'kustomize']),
  /** Folder (manifests, kustomize) or chart path (helm) inside the repository. */
  path: z.optional(
    z
      .string()
      .check(z.maxLength(255), z.regex(/^(?!\/)(?!.*\.\.)[\w./-]*$/, 'must be a relative path inside the repository')),
  ),
});

/** registry/path, no tag: e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api or ghcr.io/acme/api. */
export const imageRepository = z
  .string()
  .check(
    z.maxLength(255),
    z.regex(
      /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/,
      'must be an image repository such as ghcr.io/acme/api, without tag',
    ),
  );

export const appChanges = z.strictObject({
  description: z.optional(description),
  repository,
  deploy: deployTemplate,
  image_repository: imageRepository,
  labels: z.optional(labels),
  /** The registered cluster its builds run on; without it, the platform's default build cluster. */
  build_cluster_id: z.optional(resourceId('cls')),
});

export const newApp = z.strictObject({ project_id: resourceId('prj'), name: dnsLabel, ...appChanges.shape });

export type NewApp = z.infer<typeof newApp>;
export type AppChanges = z.infer<typeof appChanges>;

/** The repository as shown: the token's secret reference stays in the table, only that one is set shows. */
export type ShownRepository = Omit<z.infer<typeof repository>, 'status_token_secret_arn'> & {
  status_token_configured?: true;
};

export type AppView = Omit<NewApp, 'repository'> & {
  repository: ShownRepository;
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  created_by: string;
};
