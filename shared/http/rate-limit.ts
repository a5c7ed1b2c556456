import type { Meter } from '../quotas/meter.ts';

/** The RateLimit fields for the policies this request was counted against (none for an uncounted one). */
export function rateLimitHeaders(meters: readonly Meter[]): Record<string, string> {
  const counted = meters.filter((m) => m.remaining !== undefined);
  if (counted.length === 0) return {};
  return {
    'ratelimit-policy': counted.map((m) => `"${m.policy.name}";q=${m.limit};w=${m.policy.windowSeconds}`).join(', '),
    ratelimit: counted.map((m) => `"${m.policy.name}";r=${m.remaining};t=${m.resetSeconds}`).join(', '),
  };
}
