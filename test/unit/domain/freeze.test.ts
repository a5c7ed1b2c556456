import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import {
  activeFreeze,
  type FreezeRule,
  freezeWindow,
  frozen,
  intervalAt,
  newFreeze,
  nextFreeze,
} from '../../../shared/domain/freeze.ts';

const friday: FreezeRule = {
  id: 'frz_weekend',
  name: 'Weekend',
  scope: 'project/p1',
  // Fridays 18:00 Berlin, for 2 days and 14 hours: until Monday 08:00.
  window: { kind: 'recurring', cron: '0 18 * * 5', timezone: 'Europe/Berlin', duration_minutes: 62 * 60 },
  allow_rollbacks: true,
};
const christmas: FreezeRule = {
  id: 'frz_xmas',
  name: 'Christmas',
  scope: 'platform',
  window: { kind: 'one_off', starts_at: '2026-12-23T00:00:00+01:00', ends_at: '2026-12-27T00:00:00+01:00' },
  allow_rollbacks: false,
};
const prod = 'project/p1/app/a1/env/prod';

describe('freeze windows', () => {
  it('a recurring window is in force from its start for its duration, in its time zone', () => {
    expect(intervalAt(friday.window, new Date('2026-12-06T12:00:00Z'))).toEqual({
      starts_at: '2026-12-04T17:00:00.000Z',
      ends_at: '2026-12-07T07:00:00.000Z',
    });
    expect(intervalAt(friday.window, new Date('2026-12-07T07:00:00Z'))).toBeUndefined();
    expect(intervalAt(friday.window, new Date('2026-12-04T16:59:59Z'))).toBeUndefined();
  });

  it('overlapping recurrences are one window', () => {
    const window = { kind: 'recurring', cron: '*/5 * * * *', timezone: 'UTC', duration_minutes: 10 } as const;
    expect(intervalAt(window, new Date('2026-12-04T10:07:00Z'))?.starts_at).toBe('2026-12-04T10:05:00.000Z');
  });

  it('applies to the scopes under it, and rollbacks only when the freeze forbids them', () => {
    const at = new Date('2026-12-05T12:00:00Z');
    expect(activeFreeze([friday], prod, 'deploy', at)?.freeze_id).toBe('frz_weekend');
    expect(activeFreeze([friday], 'project/p2/app/a9/env/prod', 'deploy', at)).toBeUndefined();
    expect(activeFreeze([friday], prod, 'rollback', at)).toBeUndefined();
    const xmas = new Date('2026-12-24T12:00:00Z');
    expect(activeFreeze([christmas], prod, 'rollback', xmas)?.freeze_id).toBe('frz_xmas');
  });

  it('names the freeze that ends last when several are in force', () => {
    // Saturday 26 December: both the weekend and Christmas; the weekend ends later (Monday 08:00).
    const found = activeFreeze([christmas, friday], prod, 'deploy', new Date('2026-12-26T12:00:00Z'));
    expect(found).toMatchObject({ freeze_id: 'frz_weekend', ends_at: '2026-12-28T07:00:00.000Z' });
  });

  it('tells the next freeze to start', () => {
    expect(nextFreeze([christmas, friday], prod, new Date('2026-12-20T00:00:00Z'))).toMatchObject({
      freeze_id: 'frz_xmas',
      starts_at: '2026-12-23T00:00:00+01:00',
    });
  });

  it('refuses a window ending before it starts, or longer than 30 days', () => {
    const backwards = z.safeParse(freezeWindow, {
      kind: 'one_off',
      starts_at: '2026-12-23T00:00:00Z',
      ends_at: '2026-12-22T00:00:00Z',
    });
    expect(backwards.error?.issues[0]).toMatchObject({ path: ['ends_at'], message: 'ends_at must be after starts_at' });
    const long = z.safeParse(freezeWindow, {
      kind: 'recurring',
      cron: '0 0 1 * *',
      timezone: 'UTC',
      duration_minutes: 31 * 24 * 60,
    });
    expect(long.success).toBe(false);
  });
});

describe('freeze requests and refusals', () => {
  it('take the platform or a project, app or environment as the scope, and nothing else', () => {
    const window = christmas.window;
    const ok = (scope: unknown) => z.safeParse(newFreeze, { scope, name: 'x', window }).success;
    expect(ok('platform')).toBe(true);
    expect(ok({ project_id: 'prj_01jd0000000000000000000000' })).toBe(true);
    expect(ok({ app_id: 'app_01jd0000000000000000000000', env: 'prod' })).toBe(true);
    expect(ok('project/p1')).toBe(false);
    expect(ok({ app_id: 'app_01jd0000000000000000000000', cluster: 'c' })).toBe(false);
    expect(ok({ project_id: 'p1' })).toBe(false);
  });

  it('a frozen refusal names the freeze and when it ends', () => {
    const refusal = frozen({
      freeze_id: 'frz_xmas',
      name: 'Christmas',
      scope: 'platform',
      starts_at: '2026-12-23T00:00:00+01:00',
      ends_at: '2026-12-27T00:00:00+01:00',
    });
    expect(refusal.code).toBe('frozen');
    expect(refusal.name).toBe('Conflict');
    expect(refusal.message).toContain('until 2026-12-27T00:00:00+01:00');
    expect(refusal.extensions).toEqual({
      freeze: { id: 'frz_xmas', name: 'Christmas', ends_at: '2026-12-27T00:00:00+01:00' },
    });
  });
});
