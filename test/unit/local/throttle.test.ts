import { describe, expect, it } from 'vitest';
import { tokenBucket } from '../../../infra/local/throttle.ts';

describe("the stage's token bucket", () => {
  it('lets a burst through up to burstLimit, then refills at rateLimit a second, never above burstLimit', () => {
    let now = 0;
    const bucket = tokenBucket({ rateLimit: 2, burstLimit: 3 }, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now += 499; // not yet one token back
    expect(bucket.take()).toBe(false);
    now += 1;
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    now += 60_000; // a long quiet spell fills it to the burst, no further
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });

  it('spends nothing on refused requests: a client hammering an empty bucket gets through at the steady rate', () => {
    let now = 0;
    const bucket = tokenBucket({ rateLimit: 10, burstLimit: 1 }, () => now);
    let passed = 0;
    for (let ms = 0; ms < 1000; ms += 5) {
      now = ms;
      if (bucket.take()) passed++;
    }
    expect(passed).toBe(10);
  });
});
