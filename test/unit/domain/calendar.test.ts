import { describe, expect, it } from 'vitest';
import {
  cronProblem,
  fireMinute,
  inOffsetOf,
  isTimeZone,
  lastFireAtOrBefore,
  localTime,
  nextFires,
  schedulerAt,
  schedulerCron,
} from '../../../shared/domain/calendar.ts';

/** The next fires as the schedule's own wall clock shows them. */
const fires = (cron: string, timezone: string, after: string, count = 4) =>
  nextFires({ cron, timezone }, new Date(after), count).map((d) => localTime(d, timezone));

describe('next fire times across daylight-saving changes (as EventBridge Scheduler fires them)', () => {
  it('Europe/Berlin spring forward: 02:30 does not exist on 29 March 2026 and is skipped', () => {
    expect(fires('30 2 * * *', 'Europe/Berlin', '2026-03-27T00:00:00Z')).toEqual([
      '2026-03-27T02:30:00+01:00',
      '2026-03-28T02:30:00+01:00',
      '2026-03-30T02:30:00+02:00',
      '2026-03-31T02:30:00+02:00',
    ]);
  });

  it('Europe/Berlin fall back: 02:30 happens twice on 25 October 2026 and fires once', () => {
    const local = fires('30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 2);
    expect(local).toEqual(['2026-10-25T02:30:00+02:00', '2026-10-26T02:30:00+01:00']);
  });

  it('America/New_York spring forward (8 March 2026) and fall back (1 November 2026)', () => {
    expect(fires('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 2)).toEqual([
      '2026-03-09T02:30:00-04:00',
      '2026-03-10T02:30:00-04:00',
    ]);
    expect(fires('30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', 2)).toEqual([
      '2026-11-01T01:30:00-04:00',
      '2026-11-02T01:30:00-05:00',
    ]);
  });

  it('Australia/Sydney spring forward (4 October 2026) and fall back (5 April 2026)', () => {
    expect(fires('30 2 * * *', 'Australia/Sydney', '2026-10-03T00:00:00Z', 2)).toEqual([
      '2026-10-05T02:30:00+11:00',
      '2026-10-06T02:30:00+11:00',
    ]);
    expect(fires('30 2 * * *', 'Australia/Sydney', '2026-04-04T00:00:00Z', 2)).toEqual([
      '2026-04-05T02:30:00+11:00',
      '2026-04-06T02:30:00+10:00',
    ]);
  });

  it('Asia/Shanghai has no daylight saving: weekdays at 09:00, +08:00 all year', () => {
    expect(fires('0 9 * * 1-5', 'Asia/Shanghai', '2026-03-27T00:00:00Z', 3)).toEqual([
      '2026-03-27T09:00:00+08:00',
      '2026-03-30T09:00:00+08:00',
      '2026-03-31T09:00:00+08:00',
    ]);
  });

  it('fires strictly after the given instant', () => {
    const [first] = nextFires({ cron: '0 12 * * *', timezone: 'UTC' }, new Date('2026-06-01T12:00:00Z'), 1);
    expect(first?.toISOString()).toBe('2026-06-02T12:00:00.000Z');
  });

  it('finds the fire a window started from', () => {
    const friday = { cron: '0 22 * * 5', timezone: 'Europe/Berlin' };
    expect(lastFireAtOrBefore(friday, new Date('2026-12-07T10:00:00Z'), 3 * 86_400_000)?.toISOString()).toBe(
      '2026-12-04T21:00:00.000Z',
    );
    expect(lastFireAtOrBefore(friday, new Date('2026-12-07T10:00:00Z'), 86_400_000)).toBeUndefined();
  });
});

describe('cron expressions are refused naming the field', () => {
  it.each([
    ['61 * * * *', /^minute: '61'/],
    ['0 24 * * *', /^hour: /],
    ['0 0 32 * *', /^day of month: /],
    ['0 0 * 13 *', /^month: /],
    ['0 0 * * 8', /^day of week: /],
    ['0 0 ? * *', /^day of month: /],
    ['0 0 * * MON#2', /^day of week: /],
    ['*/0 * * * *', /^minute: step 0/],
    ['5-1 * * * *', /^minute: '5-1' is a backwards range/],
    ['0 0 1 * 1', /^day of week: restrict either/],
    ['* * * *', /has 4$/],
    ['0 0 * * * 2027', /has 6$/],
  ])('%s', (expression, problem) => {
    expect(cronProblem(expression)).toMatch(problem);
  });

  it('accepts lists, ranges, steps and names', () => {
    for (const ok of ['*/15 * * * *', '0 9-17/2 * * MON-FRI', '0 0 1,15 JAN,JUL *', '0 3 * * 0,7']) {
      expect(cronProblem(ok)).toBeUndefined();
    }
  });

  it('knows IANA zones and refuses others', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });
});

describe('Scheduler expressions', () => {
  it.each([
    ['*/15 * * * *', 'cron(0/15 * * * ? *)'],
    ['0 2 1 * *', 'cron(0 2 1 * ? *)'],
    ['0 2 * * 1-5', 'cron(0 2 ? * MON,TUE,WED,THU,FRI *)'],
    ['0 2 * * 5-7', 'cron(0 2 ? * SUN,FRI,SAT *)'],
    ['0 2 * * */2', 'cron(0 2 ? * SUN,TUE,THU,SAT *)'],
  ])('%s → %s', (cron, expression) => {
    expect(schedulerCron(cron)).toBe(expression);
  });

  it('a one-time schedule is at() in UTC, at the first whole minute not before its instant', () => {
    // Scheduler fires to the minute: rounding down would fire 42 s early, or never for a time later this minute.
    expect(schedulerAt(new Date('2026-12-24T22:00:42+01:00'))).toBe('at(2026-12-24T21:01:00)');
    expect(schedulerAt(new Date('2026-12-24T22:00:00+01:00'))).toBe('at(2026-12-24T21:00:00)');
    expect(fireMinute(new Date('2026-12-24T21:00:00.001Z')).toISOString()).toBe('2026-12-24T21:01:00.000Z');
  });

  it('shows an instant on the wall clock of the offset its client wrote', () => {
    expect(inOffsetOf('2026-12-24T22:00:42+01:00', new Date('2026-12-24T21:01:00Z'))).toBe('2026-12-24T22:01:00+01:00');
    expect(inOffsetOf('2026-12-24T08:00:00-05:30', new Date('2026-12-24T13:30:00Z'))).toBe('2026-12-24T08:00:00-05:30');
    expect(inOffsetOf('2026-12-24T21:00:05Z', new Date('2026-12-24T21:01:00Z'))).toBe('2026-12-24T21:01:00Z');
  });
});

describe('steps from a value (AWS writes them: `*/15` is `0/15` there)', () => {
  it('fire from that value to the end of the field, as cron reads them (croner alone refuses them)', () => {
    expect(cronProblem('0/15 * * * *')).toBeUndefined();
    expect(fires('5/20 9 * * *', 'UTC', '2026-06-01T00:00:00Z', 3)).toEqual([
      '2026-06-01T09:05:00+00:00',
      '2026-06-01T09:25:00+00:00',
      '2026-06-01T09:45:00+00:00',
    ]);
    expect(fires('0 0 1 NOV/1 *', 'UTC', '2026-10-15T00:00:00Z', 3)).toEqual([
      '2026-11-01T00:00:00+00:00',
      '2026-12-01T00:00:00+00:00',
      '2027-11-01T00:00:00+00:00',
    ]);
    expect(fires('0 8 * * MON/2', 'UTC', '2026-06-01T00:00:00Z', 4)).toEqual([
      '2026-06-01T08:00:00+00:00', // Monday
      '2026-06-03T08:00:00+00:00',
      '2026-06-05T08:00:00+00:00',
      '2026-06-08T08:00:00+00:00',
    ]);
  });
});
