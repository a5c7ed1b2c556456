import { describe, expect, it } from 'vitest';
import { toProblem } from '../../shared/http/problem.ts';
import { rateLimitHeaders } from '../../shared/http/rate-limit.ts';
import { Meter, type QuotaPolicy, rateLimited } from '../../shared/quotas/meter.ts';

const policy = (name: string, limit: number): QuotaPolicy => ({
  name,
  counts: `${name} per test`,
  windowSeconds: 60,
  limit: () => limit,
});

describe('a meter', () => {
  it('counts in whole clock minutes, keyed by partition and window, and says when its window turns', () => {
    const at = Date.UTC(2026, 10, 27, 12, 0, 43, 200);
    const meter = new Meter(policy('writes', 60), 'alice', at);
    expect(meter.key).toEqual({ PK: 'QUOTA#writes#alice', SK: `WINDOW#${Date.UTC(2026, 10, 27, 12, 0, 0) / 1000}` });
    expect(meter.resetSeconds).toBe(17);
    const lastMoment = new Meter(policy('writes', 60), 'alice', at + 16_799);
    expect(lastMoment.key).toEqual(meter.key);
    expect(lastMoment.resetSeconds).toBe(1);
    expect(new Meter(policy('writes', 60), 'alice', at + 16_800).key).not.toEqual(meter.key);
  });

  it('charges with one conditional ADD that cannot pass the limit, expiring after its window', () => {
    const meter = new Meter(policy('deploys', 10), 'app#dev', Date.UTC(2026, 10, 27, 12, 0, 0));
    expect(meter.charge()).toMatchObject({
      update: meter.key,
      set: 'ADD #count :one SET expiresAt = :expiresAt',
      condition: 'attribute_not_exists(#count) OR #count < :limit',
      values: { ':one': 1, ':limit': 10, ':expiresAt': Date.UTC(2026, 10, 27, 12, 2, 0) / 1000 },
    });
  });
});

describe('the RateLimit fields (draft-ietf-httpapi-ratelimit-headers)', () => {
  it('name each policy the request was counted against, with its quota, window, what is left and when it resets', () => {
    const at = Date.UTC(2026, 10, 27, 12, 0, 43);
    const writes = new Meter(policy('writes', 60), 'alice', at);
    const deploys = new Meter(policy('deploys', 10), 'app#dev', at);
    expect(rateLimitHeaders([writes, deploys])).toEqual({});
    writes.remaining = 57;
    expect(rateLimitHeaders([writes, deploys])).toEqual({
      'ratelimit-policy': '"writes";q=60;w=60',
      ratelimit: '"writes";r=57;t=17',
    });
    deploys.chargedAfter({ count: 3 });
    expect(rateLimitHeaders([writes, deploys])).toEqual({
      'ratelimit-policy': '"writes";q=60;w=60, "deploys";q=10;w=60',
      ratelimit: '"writes";r=57;t=17, "deploys";r=6;t=17',
    });
  });

  it('refuse with 429 rate-limited, naming the violated policy, retrying when the window turns', () => {
    const meter = new Meter(policy('deploys', 10), 'app#dev', Date.UTC(2026, 10, 27, 12, 0, 43));
    const problem = toProblem(meter.charge().onFail(undefined));
    expect(problem).toMatchObject({
      status: 429,
      type: 'https://slipway.dev/problems/rate-limited',
      extensions: { violated_policies: ['deploys'] },
      retryAfterSeconds: 17,
    });
    expect(meter.remaining).toBe(0);
    expect(toProblem(rateLimited(meter))?.detail).toMatch(/10 deploys per test in 60 seconds .* retry in 17 s/);
  });
});
