import * as z from 'zod/mini';
import { HOOK_EVENTS } from './git-event.ts';

/** `POST /apps/{id}/webhooks`: an endpoint for the app's repository on its provider. */
export const newWebhook = z.strictObject({
  provider: z.enum(['github', 'gitlab']),
  /** The events it accepts (a ping always is); default all of them. */
  events: z._default(z.array(z.enum(HOOK_EVENTS)).check(z.minLength(1), z.maxLength(3)), [...HOOK_EVENTS]),
  /** The repository's id at the provider: accepted besides its URL (a renamed repository keeps it). */
  repository_id: z.optional(z.string().check(z.regex(/^[0-9]{1,20}$/, 'must be the numeric repository id'))),
});

/** `POST .../rotate`: how long the previous secret stays valid (24 h by default, at most 7 days). */
export const rotateWebhook = z.strictObject({
  overlap_hours: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(168)), 24),
});

export type NewWebhook = z.infer<typeof newWebhook>;

/** An endpoint as the API shows it; its secret is shown only in the answer that made it. */
export interface WebhookView {
  id: string;
  app_id: string;
  project_id: string;
  provider: 'github' | 'gitlab';
  events: string[];
  repository_id?: string;
  /** The path the provider posts to, and the full URL when the public URL is configured. */
  url: string;
  secret_version: number;
  verified_at?: string;
  rotated_at?: string;
  previous_secret_valid_until?: string;
  version: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

/** Where a delivery ended: runs started, ignored (and why), refused (and why); pending until dispatched. */
export interface DeliveryOutcome {
  status: 'pending' | 'dispatched' | 'ignored' | 'refused';
  reason?: string;
  runs?: { pipeline_id: string; run_id: string }[];
  skipped?: { pipeline_id: string; reason: string }[];
}

export interface DeliveryView {
  hook_id: string;
  delivery_id: string;
  event: string;
  received_at: string;
  ref?: string;
  sha?: string;
  outcome: DeliveryOutcome;
  /** From receipt to the outcome, in milliseconds. */
  duration_ms?: number;
  replayed_at?: string;
  replayed_by?: string;
}
