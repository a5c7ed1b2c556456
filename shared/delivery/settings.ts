import { config } from '../config.ts';

/** How long an environment lock outlives its holder's last sign of life; every step renews it. */
export const lockLeaseSeconds = (): number => config.lockLeaseSeconds;

/** Waits between rollout checks grow from 2 s to 15 s: quick for fast rollouts, cheap for slow ones. */
export const rolloutCheckWaitSeconds = (attempt: number): number => Math.min(15, Math.round(2 * 1.5 ** attempt));
