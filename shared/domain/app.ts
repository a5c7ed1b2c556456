import * as z from 'zod/mini';
import { gitRefName } from './commit.ts';
import { description, dnsLabel, httpsUrl, labels, resourceId } from './fields.ts';

/** The Git repository an application builds and deploys from. */
export const repository = z.strictObject({
  provider: z.enum(['github', 'gitlab']),
  url: httpsUrl,
  default_branch: gitRefName,
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

export type AppView = NewApp & {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  created_by: string;
};
