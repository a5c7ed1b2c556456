import * as z from 'zod/mini';
import { config } from '../config.ts';
import { dnsLabel, resourceId } from './fields.ts';

/** Rules a protected environment enforces before a deployment may proceed. */
export const protection = z.strictObject({
  requires_approval: z.boolean(),
  approver_teams: z.array(resourceId('team')).check(z.maxLength(10)),
  minimum_approvals: z.int().check(z.minimum(1), z.maximum(10)),
  prevent_self_approval: z.boolean(),
  approval_timeout_minutes: z.int().check(z.minimum(1), z.maximum(7 * 24 * 60)),
});

export const defaultProtection: z.infer<typeof protection> = {
  requires_approval: false,
  approver_teams: [],
  minimum_approvals: 1,
  prevent_self_approval: true,
  approval_timeout_minutes: 24 * 60,
};

/**
 * Namespaces no environment may use: `default` and the `kube-` ones Kubernetes keeps for itself,
 * plus the platform's own (`SLIPWAY_RESERVED_NAMESPACES`, comma-separated; read at each check).
 */
export function isReservedNamespace(namespace: string): boolean {
  if (namespace === 'default' || namespace.startsWith('kube-')) return true;
  return config.reservedNamespaces.includes(namespace);
}

export const envNamespace = dnsLabel.check(
  z.refine((name) => !isReservedNamespace(name), 'is reserved for the cluster or the platform: choose another'),
);

/** GitLab's deployment tiers: what an environment is for, whatever its name. */
export const ENV_TIERS = ['production', 'staging', 'testing', 'development', 'other'] as const;
export type EnvTier = (typeof ENV_TIERS)[number];
export const envTier = z.enum(ENV_TIERS);

/**
 * The tier a name suggests, by GitLab's own rules (Environment#guess_tier) and in its order, so
 * `preprod` is staging and `review-42` development; anything else is `other`.
 */
export function inferTier(name: string): EnvTier {
  if (/(dev|review|trunk)/i.test(name)) return 'development';
  if (/(test|tst|int|ac(ce|)pt|qa|qc|control|quality)/i.test(name)) return 'testing';
  if (/(st(a|)g|mod(e|)l|pre|demo|non)/i.test(name)) return 'staging';
  if (/(pr(o|)d|live)/i.test(name)) return 'production';
  return 'other';
}

export const envChanges = z.strictObject({
  cluster_id: resourceId('cls'),
  namespace: envNamespace,
  protection,
  /** Position in the promotion path: dev (0) → staging (1) → prod (2). */
  order: z.int().check(z.minimum(0), z.maximum(100)),
  /** Absent (or patched to null): inferred from the name again. */
  tier: z.optional(envTier),
});

export const newEnv = z.strictObject({
  name: dnsLabel,
  cluster_id: resourceId('cls'),
  namespace: envNamespace,
  protection: z.optional(protection),
  order: z.optional(z.int().check(z.minimum(0), z.maximum(100))),
  /** Inferred from the name when absent. */
  tier: z.optional(envTier),
});

/** `GET /environments` filters (limit and cursor are the pagination's own). */
export const environmentsQuery = z.object({
  project_id: z.optional(resourceId('prj')),
  cluster_id: z.optional(resourceId('cls')),
  tier: z.optional(envTier),
});

export type NewEnv = z.infer<typeof newEnv>;
export type EnvChanges = z.infer<typeof envChanges>;

export type EnvView = NewEnv & {
  tier: EnvTier;
  app_id: string;
  project_id: string;
  version: number;
  created_at: string;
  updated_at: string;
};
