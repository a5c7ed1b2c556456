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

export const envChanges = z.strictObject({
  cluster_id: resourceId('cls'),
  namespace: envNamespace,
  protection,
  /** Position in the promotion path: dev (0) → staging (1) → prod (2). */
  order: z.int().check(z.minimum(0), z.maximum(100)),
});

export const newEnv = z.strictObject({
  name: dnsLabel,
  cluster_id: resourceId('cls'),
  namespace: envNamespace,
  protection: z.optional(protection),
  order: z.optional(z.int().check(z.minimum(0), z.maximum(100))),
});

export type NewEnv = z.infer<typeof newEnv>;
export type EnvChanges = z.infer<typeof envChanges>;

export type EnvView = NewEnv & {
  app_id: string;
  project_id: string;
  version: number;
  created_at: string;
  updated_at: string;
};
