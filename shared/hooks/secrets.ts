/**
 * Endpoint secrets in Secrets Manager, one secret per endpoint (`<prefix><hook id>`), holding the
 * current secret and, during a rotation's overlap, the previous one until a time. Reads are cached
 * per endpoint and `secret_version` (which a rotation raises in the table), so a rotation is seen at
 * once and a delivery costs no Secrets Manager call once warm.
 */
import { config } from '../config.ts';
import { recordSecrets } from '../store/record-secrets.ts';

export interface HookSecrets {
  current: string;
  previous?: string;
  /** ISO time the previous secret stops being accepted. */
  previous_until?: string;
}

const hookSecrets = recordSecrets<HookSecrets>(() => config.hookSecretPrefix);

export const createHookSecrets = hookSecrets.create;
export const putHookSecrets = hookSecrets.put;
export const readHookSecrets = hookSecrets.read;
/** Deleting an endpoint deletes its secret at once: nothing can sign for it any more. */
export const deleteHookSecrets = hookSecrets.remove;

/** The secrets a delivery may be signed with now. */
export const acceptedSecrets = (s: HookSecrets, now = Date.now()): string[] =>
  s.previous && s.previous_until && Date.parse(s.previous_until) > now ? [s.current, s.previous] : [s.current];
