import * as z from 'zod/mini';
import { deployedCommit } from './commit.ts';
import { description, dnsLabel, resourceId } from './fields.ts';

/** Where a deployment ends: once in one of these, it never moves again. */
export const FINAL_DEPLOYMENT_STATES = [
  'succeeded',
  'failed',
  'rolled_back',
  'rejected',
  'expired',
  'cancelled',
] as const;

/** Where a deployment stands, in the order it can pass them. */
export const DEPLOYMENT_STATES = [
  'queued',
  'waiting_for_lock',
  'waiting_for_approval',
  'applying',
  'rolling_out',
  'rolling_back',
  ...FINAL_DEPLOYMENT_STATES,
] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

/** Where an approval stands: only `pending` can still be decided. */
export const APPROVAL_STATES = ['pending', 'approved', 'rejected', 'expired', 'cancelled'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

/**
 * Going ahead during a freeze (only with the `freeze.override` permission): the reason is kept on
 * the deployment and in the audit log, and told in chat.
 */
export const freezeOverride = z.strictObject({
  reason: z.string().check(z.minLength(1), z.maxLength(500)),
});

/**
 * What a deploy request names. `image` is a tag (`1.4.2`), a digest (`sha256:…`) or a full
 * reference in the application's own image repository: a deploy cannot smuggle in an image
 * from elsewhere.
 */
export const imageReference = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(400),
    z.regex(
      /^(?!sha256:(?![a-f0-9]{64}$))(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})|[\w][\w.-]{0,127}|sha256:[a-f0-9]{64})$/,
      'must be a tag (1.4.2), a digest (sha256:…) or repository:tag / repository@sha256:digest',
    ),
  );

export const rolloutStrategy = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('rolling'),
    max_surge: z.optional(z.int().check(z.minimum(0), z.maximum(100))),
    max_unavailable: z.optional(z.int().check(z.minimum(0), z.maximum(100))),
  }),
  z.strictObject({ type: z.literal('recreate') }),
]);

const deployOptions = {
  env: dnsLabel,
  image: imageReference,
  replicas: z.optional(z.int().check(z.minimum(0), z.maximum(100))),
  strategy: z.optional(rolloutStrategy),
  /** How long pods may take to become available before the rollout counts as failed. */
  progress_deadline_seconds: z.optional(z.int().check(z.minimum(5), z.maximum(3600))),
  description: z.optional(description),
  override_freeze: z.optional(freezeOverride),
  /** The commit this image was built from, for the DORA lead time (a pipeline's deploy stage names its run's). */
  commit: z.optional(deployedCommit),
};

/** `POST /apps/{id}/deploy` */
export const deployRequest = z.strictObject(deployOptions);
/** `POST /deployments` */
export const newDeployment = z.strictObject({ app_id: resourceId('app'), ...deployOptions });

/** `POST /rollbacks`: back to `target_revision`, by default the last good release before the current one. */
export const newRollback = z.strictObject({
  app_id: resourceId('app'),
  env: dnsLabel,
  target_revision: z.optional(z.int().check(z.minimum(1))),
  description: z.optional(description),
  override_freeze: z.optional(freezeOverride),
});

/** `POST /apps/{id}/promote`: what runs in `from` (same digest, replicas, strategy) goes to `to`. */
export const promoteRequest = z.strictObject({
  from: dnsLabel,
  to: dnsLabel,
  description: z.optional(description),
  override_freeze: z.optional(freezeOverride),
});

/** `POST /deployments/{id}/cancel` */
export const cancelRequest = z.strictObject({
  reason: z.optional(z.string().check(z.maxLength(1000))),
});

/** `POST /approvals/{id}/approve|reject` */
export const approvalDecision = z.strictObject({
  comment: z.optional(z.string().check(z.maxLength(1000))),
});

export type DeployRequest = z.infer<typeof deployRequest>;
export type NewDeployment = z.infer<typeof newDeployment>;
export type NewRollback = z.infer<typeof newRollback>;
export type PromoteRequest = z.infer<typeof promoteRequest>;
export type FreezeOverride = z.infer<typeof freezeOverride>;
export type RolloutStrategy = z.infer<typeof rolloutStrategy>;
