/**
 * The local Scheduler's reading of Scheduler expressions: AWS's six-field cron as the standard
 * five (day of week 1-7 from Sunday, `?`), at() as a wall-clock time of its zone, rate() from its
 * anchor, and the round trip: whatever the API writes with `schedulerCron` fires locally exactly
 * when shared/domain/calendar.ts says it does.
 */
import { describe, expect, it } from 'vitest';
import { nextFire, parseExpression, standardCron, zonedInstant } from '../../../infra/local/scheduler/expressions.ts';
import { nextFires, schedulerCron } from '../../../shared/domain/calendar.ts';

describe('AWS cron as standard cron', () => {
  it.each([
    ['0 2 * * ? *', '0 2 * * *'],
    ['30 9 ? * 2-6 *', '30 9 * * 1-5'], // Monday-Friday: AWS counts Sunday as 1
    ['0 12 ? * 1,7 *', '0 12 * * 0,6'],
    ['0 12 ? * MON-FRI *', '0 12 * * MON-FRI'],
    ['0/15 * 1 * ? *', '0/15 * 1 * *'],
    ['0 8 ? JAN,JUL WED *', '0 8 * JAN,JUL WED'],
  ])('cron(%s) is %s', (aws, standard) => {
    expect(standardCron(aws)).toBe(`cron:${standard}`);
  });

  it.each([
    ['5 fields', '0 2 * * ?', /6 fields/],
    ['both day fields set', '0 2 1 * MON *', /exactly one of day-of-month and day-of-week/],
    ['neither day field open', '0 2 ? * ? *', /exactly one/],
    ['a year', '0 2 * * ? 2030', /year/],
    ['L', '0 2 L * ? *', /L, W or #/],
    ['W', '0 2 15W * ? *', /L, W or #/],
    ['#', '0 2 ? * 6#3 *', /L, W or #/],
    ['day of week 0', '0 2 ? * 0 *', /0 is not a day/],
    ['an hour of 24', '0 24 * * ? *', /hour/],
  ])('refuses %s', (_, aws, problem) => {
    expect(standardCron(aws)).toMatch(problem);
    expect(standardCron(aws)).not.toMatch(/^cron:/);
  });

  it.each(['0 2 * * *', '30 9 * * 1-5', '*/15 8-17 * * MON-FRI', '0 0 1 */3 *', '45 23 * * 0', '0 6 * * SAT,SUN'])(
    'round trip: %s, written for Scheduler, fires locally when the calendar says',
    (cron) => {
      const recurrence = parseExpression(schedulerCron(cron), 'America/New_York');
      if (typeof recurrence === 'string') throw new Error(recurrence);
      let after = Date.parse('2026-10-28T00:00:00Z');
      const local: string[] = [];
      for (let i = 0; i < 8; i++) {
        after = nextFire(recurrence, after, 0) as number;
        local.push(new Date(after).toISOString());
      }
      const expected = nextFires({ cron, timezone: 'America/New_York' }, new Date('2026-10-28T00:00:00Z'), 8);
      expect(local).toEqual(expected.map((d) => d.toISOString()));
    },
  );
});

describe('at() and rate()', () => {
  it('reads at() as the wall clock of its zone, on both sides of a DST change', () => {
    expect(new Date(zonedInstant('2026-03-28T03:00:00', 'Europe/Berlin')).toISOString()).toBe(
      '2026-03-28T02:00:00.000Z',
    );
    expect(new Date(zonedInstant('2026-03-29T03:00:00', 'Europe/Berlin')).toISOString()).toBe(
      '2026-03-29T01:00:00.000Z',
    );
    expect(new Date(zonedInstant('2026-12-24T22:00:00', 'UTC')).toISOString()).toBe('2026-12-24T22:00:00.000Z');
    expect(parseExpression('at(2026-07-01T09:00:00)', 'Asia/Shanghai')).toEqual({
      kind: 'at',
      at: Date.parse('2026-07-01T01:00:00Z'),
    });
  });

  it('fires at() once, and rate() every period from its anchor', () => {
    const at = parseExpression('at(2026-07-01T09:00:00)', 'UTC');
    if (typeof at === 'string') throw new Error(at);
    expect(nextFire(at, Date.parse('2026-07-01T08:59:59Z'), 0)).toBe(Date.parse('2026-07-01T09:00:00Z'));
    expect(nextFire(at, Date.parse('2026-07-01T09:00:00Z'), 0)).toBeUndefined();

    const rate = parseExpression('rate(2 hours)', 'UTC');
    if (typeof rate === 'string') throw new Error(rate);
    const anchor = Date.parse('2026-07-01T09:10:00Z');
    expect(nextFire(rate, anchor - 1, anchor)).toBe(anchor);
    expect(nextFire(rate, anchor, anchor)).toBe(anchor + 2 * 3_600_000);
    expect(nextFire(rate, anchor + 5 * 3_600_000, anchor)).toBe(anchor + 6 * 3_600_000);
  });

  it.each([
    'rate(1 minutes)',
    'rate(2 minute)',
    'rate(0 minutes)',
    'rate(5 weeks)',
    'at(2026-07-01 09:00:00)',
    'every hour',
  ])('refuses %s', (expression) => {
    expect(typeof parseExpression(expression, 'UTC')).toBe('string');
  });
});
