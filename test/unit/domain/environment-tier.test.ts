import { describe, expect, it } from 'vitest';
import { envChanges, inferTier, newEnv } from '../../../shared/domain/environment.ts';

describe('an environment’s tier, inferred from its name as GitLab does', () => {
  it('maps the usual names to their tiers', () => {
    expect(inferTier('prod')).toBe('production');
    expect(inferTier('production')).toBe('production');
    expect(inferTier('live')).toBe('production');
    expect(inferTier('staging')).toBe('staging');
    expect(inferTier('stg')).toBe('staging');
    expect(inferTier('qa')).toBe('testing');
    expect(inferTier('test')).toBe('testing');
    expect(inferTier('dev')).toBe('development');
    expect(inferTier('review-42')).toBe('development');
    expect(inferTier('sandbox')).toBe('other');
  });

  it('tests the rules in GitLab’s order: the first that matches wins', () => {
    // `preprod` holds both `pre` (staging) and `prod`: staging is tested first.
    expect(inferTier('preprod')).toBe('staging');
    // `dev-prod-mirror` holds `dev`, tested before anything else.
    expect(inferTier('dev-prod-mirror')).toBe('development');
  });

  it('accepts only the five tiers, on create and on change', () => {
    expect(newEnv.shape.tier.safeParse('prod').success).toBe(false);
    expect(newEnv.shape.tier.safeParse('production').success).toBe(true);
    expect(envChanges.shape.tier.safeParse('qa').success).toBe(false);
  });
});
