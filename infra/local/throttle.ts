/**
 * API Gateway's stage throttling: one token bucket for the whole stage, `burstLimit` tokens deep and
 * refilled at `rateLimit` a second. A request that finds it empty gets API Gateway's own 429
 * before the authorizer or any function runs.
 */
export interface Throttle {
  /** Steady-state requests per second. */
  rateLimit: number;
  /** How many requests may arrive at once. */
  burstLimit: number;
}

/** `take()` spends a token if there is one; `now` is in milliseconds (tests pass their own clock). */
export function tokenBucket({ rateLimit, burstLimit }: Throttle, now: () => number = () => performance.now()) {
  let tokens = burstLimit;
  let last = now();
  return {
    take(): boolean {
      const at = now();
      tokens = Math.min(burstLimit, tokens + ((at - last) / 1000) * rateLimit);
      last = at;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
