import { ENV, type EnvName, readEnv } from '../config.ts';
import { RateLimited } from '../errors.ts';
import { type Item, type Key, type UpdateWrite, updateOne } from '../store/table.ts';

/**
 * Per-caller quotas (ADR 16): fixed one-minute windows, one counter item per (partition, window)
 * that expires after it. A request is counted by one conditional `ADD`, so a count never passes
 * its limit and a refused request writes nothing else. The RateLimit fields follow
 * draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy: "writes";q=60;w=60`,
 * `RateLimit: "writes";r=59;t=42`.
 */
export interface QuotaPolicy {
  /** The policy's name in the RateLimit fields. */
  name: string;
  /** What is counted, per what: for the problem's detail. */
  counts: string;
  windowSeconds: number;
  /** Read when a request is counted, so a changed setting applies at once. */
  limit(): number;
}

export const DEFAULT_WRITES_PER_MINUTE = 60;
export const DEFAULT_DEPLOYS_PER_MINUTE = 10;

/** POST, PUT, PATCH and DELETE through `api()`, per caller (the token's `sub`). */
export const writesPerUser: QuotaPolicy = {
  name: 'writes',
  counts: 'writes per user',
  windowSeconds: 60,
  limit: () => perMinute(ENV.quotaWritesPerMinute, DEFAULT_WRITES_PER_MINUTE),
};

/** Deploy and rollback requests, per environment (whoever asks). */
export const deploysPerEnvironment: QuotaPolicy = {
  name: 'deploys',
  counts: 'deploy or rollback requests per environment',
  windowSeconds: 60,
  limit: () => perMinute(ENV.quotaDeploysPerMinute, DEFAULT_DEPLOYS_PER_MINUTE),
};

function perMinute(variable: EnvName, fallback: number): number {
  const value = Number(readEnv(variable) ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${variable} must be a positive integer`);
  return value;
}

/** One policy's count for one partition (a user, an environment) in the current window. */
export class Meter {
  readonly policy: QuotaPolicy;
  readonly key: Key;
  readonly limit: number;
  /** Seconds until the window ends: the RateLimit `t` and the Retry-After of a refusal. */
  readonly resetSeconds: number;
  /** What this window has left after this request; known once the request was counted or refused. */
  remaining: number | undefined;
  private readonly expiresAt: number;

  constructor(policy: QuotaPolicy, partition: string, nowMs = Date.now()) {
    this.policy = policy;
    const window = policy.windowSeconds;
    const start = Math.floor(nowMs / 1000 / window) * window;
    this.key = { PK: `QUOTA#${policy.name}#${partition}`, SK: `WINDOW#${start}` };
    this.limit = policy.limit();
    this.resetSeconds = Math.max(1, Math.ceil(start + window - nowMs / 1000));
    // Kept a window longer than it counts: TTL deletes late, and a count read at the edge stays right.
    this.expiresAt = start + 2 * window;
  }

  /** Counts this request: commit it with the request's own writes, and over the limit none of them happen (429). */
  charge(): UpdateWrite {
    return {
      update: this.key,
      set: 'ADD #count :one SET expiresAt = :expiresAt',
      condition: 'attribute_not_exists(#count) OR #count < :limit',
      names: { '#count': 'count' },
      values: { ':one': 1, ':limit': this.limit, ':expiresAt': this.expiresAt },
      onFail: () => {
        this.remaining = 0;
        return rateLimited(this);
      },
    };
  }

  /** Counts this request on its own: one conditional UpdateItem, which answers the new count. */
  async take(): Promise<void> {
    const updated = await updateOne(this.charge());
    this.remaining = Math.max(0, this.limit - (updated.count as number));
  }

  /** After `charge()` committed with other writes: what is left, from the counter as read before (no extra read). */
  chargedAfter(counter: Item | undefined): void {
    this.remaining = Math.max(0, this.limit - ((counter?.count as number | undefined) ?? 0) - 1);
  }
}

/** Creates (and remembers, for the response's RateLimit fields) the meter of a policy and partition. */
export type Metering = (policy: QuotaPolicy, partition: string) => Meter;

/** The request over a quota: nothing of it was written; retry when the window turns. */
export const rateLimited = (meter: Meter) =>
  new RateLimited(
    `The quota of ${meter.limit} ${meter.policy.counts} in ${meter.policy.windowSeconds} seconds is used up; retry in ${meter.resetSeconds} s.`,
    meter.resetSeconds,
    [meter.policy.name],
  );
