import { describe, expect, it } from 'vitest';
import {
  isLate,
  newSchedule,
  type ScheduleRecord,
  scheduleChanges,
  upcomingFires,
} from '../../../shared/domain/schedule.ts';

const record = (fields: Partial<ScheduleRecord>): ScheduleRecord => ({
  id: 'sch_01jd0000000000000000000000',
  app_id: 'app_01jd0000000000000000000000',
  app_name: 'api',
  project_id: 'prj_01jd0000000000000000000000',
  env: 'prod',
  name: 'nightly',
  action: { type: 'deploy', image: '1.0.0' },
  enabled: true,
  owner: 'alice',
  state: 'active',
  version: 1,
  created_at: '2026-03-01T00:00:00.000Z',
  updated_at: '2026-03-01T00:00:00.000Z',
  ...fields,
});

describe("a schedule's next five fires", () => {
  it('are instants and wall-clock times in its zone, skipping the hour a spring-forward day does not have', () => {
    const s = record({ cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    expect(upcomingFires(s, new Date('2026-03-27T00:00:00Z'))).toEqual([
      { at: '2026-03-27T01:30:00.000Z', local: '2026-03-27T02:30:00+01:00' },
      { at: '2026-03-28T01:30:00.000Z', local: '2026-03-28T02:30:00+01:00' },
      { at: '2026-03-30T00:30:00.000Z', local: '2026-03-30T02:30:00+02:00' },
      { at: '2026-03-31T00:30:00.000Z', local: '2026-03-31T02:30:00+02:00' },
      { at: '2026-04-01T00:30:00.000Z', local: '2026-04-01T02:30:00+02:00' },
    ]);
  });

  it('are the one at while it is ahead, as its client wrote it, and none once it passed', () => {
    const s = record({ at: '2026-12-24T23:00:00+01:00' });
    expect(upcomingFires(s, new Date('2026-12-24T00:00:00Z'))).toEqual([
      { at: '2026-12-24T22:00:00.000Z', local: '2026-12-24T23:00:00+01:00' },
    ]);
    expect(upcomingFires(s, new Date('2026-12-25T00:00:00Z'))).toEqual([]);
  });

  it('put an at within a minute on the next whole minute, when Scheduler fires it, even later this minute', () => {
    const s = record({ at: '2026-12-24T23:00:42+01:00' });
    const fire = { at: '2026-12-24T22:01:00.000Z', local: '2026-12-24T23:01:00+01:00' };
    expect(upcomingFires(s, new Date('2026-12-24T00:00:00Z'))).toEqual([fire]);
    // Past its instant but not its minute: it is still to come.
    expect(upcomingFires(s, new Date('2026-12-24T22:00:50Z'))).toEqual([fire]);
  });

  it('are none while it is paused or once it completed', () => {
    const now = new Date('2026-03-27T00:00:00Z');
    expect(upcomingFires(record({ cron: '0 2 * * *', timezone: 'UTC', enabled: false }), now)).toEqual([]);
    expect(upcomingFires(record({ at: '2026-04-01T00:00:00Z', state: 'completed' }), now)).toEqual([]);
  });
});

describe('a late fire', () => {
  const due = '2026-03-27T02:00:00.000Z';
  const later = (ms: number) => new Date(Date.parse(due) + ms);
  it('is on time within its flexible window plus a minute of grace, and missed after', () => {
    expect(isLate({}, due, later(60_000))).toBe(false);
    expect(isLate({}, due, later(60_001))).toBe(true);
    expect(isLate({ flexible_window_minutes: 15 }, due, later(16 * 60_000))).toBe(false);
    expect(isLate({ flexible_window_minutes: 15 }, due, later(16 * 60_000 + 1))).toBe(true);
  });
});

describe('the schedule schemas', () => {
  const base = { app_id: 'app_01jd0000000000000000000000', env: 'prod', name: 'n', action: { type: 'rollback' } };
  it('take at, or cron with timezone, and nothing in between', () => {
    expect(newSchedule.safeParse({ ...base, at: '2030-01-01T00:00:00Z' }).success).toBe(true);
    expect(newSchedule.safeParse({ ...base, cron: '0 2 * * 1-5', timezone: 'Asia/Shanghai' }).success).toBe(true);
    for (const timing of [
      {},
      { at: '2030-01-01T00:00:00Z', cron: '0 2 * * *', timezone: 'UTC' },
      { cron: '0 2 * * *' },
      { at: '2030-01-01T00:00:00Z', timezone: 'UTC' },
      { at: '2030-01-01T00:00:00' },
    ]) {
      expect(newSchedule.safeParse({ ...base, ...timing }).success, JSON.stringify(timing)).toBe(false);
    }
  });

  it('fix the app and environment: a change names neither', () => {
    const { app_id: _a, env: _e, ...changes } = base;
    expect(scheduleChanges.safeParse({ ...changes, at: '2030-01-01T00:00:00Z' }).success).toBe(true);
    expect(scheduleChanges.safeParse({ ...changes, env: 'dev', at: '2030-01-01T00:00:00Z' }).success).toBe(false);
  });
});
