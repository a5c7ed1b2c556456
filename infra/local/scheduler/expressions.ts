/**
 * EventBridge Scheduler's schedule expressions, evaluated in the schedule's time zone:
 * `at(yyyy-mm-ddThh:mm:ss)` (a wall-clock time), `rate(value unit)` (from the start date, or
 * at once), and AWS's six-field `cron(min hour dom month dow year)`, converted to the standard
 * five fields so shared/domain/calendar.ts computes its fires with Scheduler's DST rules (ADR 24).
 */
import { cronProblem, localTime, nextFires } from '../../../shared/domain/calendar.ts';

export type Recurrence =
  | { kind: 'at'; at: number }
  | { kind: 'rate'; periodMs: number }
  | { kind: 'cron'; cron: string; timezone: string };

const RATE_UNITS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** The expression's recurrence, or a ValidationException's message. */
export function parseExpression(expression: string, timezone: string): Recurrence | string {
  const at = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression);
  if (at) {
    const instant = zonedInstant(at[1] as string, timezone);
    return Number.isNaN(instant) ? `Invalid Schedule Expression ${expression}.` : { kind: 'at', at: instant };
  }
  const rate = /^rate\((\d+) (minute|hour|day)(s?)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    // AWS's rule: the singular unit for 1, the plural for more.
    if (value < 1 || (value === 1) !== (rate[3] === '')) return `Invalid Schedule Expression ${expression}.`;
    return { kind: 'rate', periodMs: value * (RATE_UNITS[rate[2] as string] as number) };
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (cron) {
    const standard = standardCron(cron[1] as string);
    return standard.startsWith('cron:') ? { kind: 'cron', cron: standard.slice(5), timezone } : standard;
  }
  return `Invalid Schedule Expression ${expression}.`;
}

/**
 * AWS's six fields as the standard five (`cron:` + the expression), or why not: one of the day
 * fields must be `?` (read as `*`), days of week are numbered 1-7 from Sunday (0-6 in standard
 * cron). Locally the year must be `*` and `L`, `W` and `#` are not supported (Slipway never
 * writes them: shared/domain/calendar.ts `schedulerCron`).
 */
export function standardCron(fields: string): string {
  const parts = fields.trim().split(/\s+/);
  if (parts.length !== 6) return `Invalid Schedule Expression cron(${fields}): a cron expression has 6 fields.`;
  const [minute, hour, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    return `Invalid Schedule Expression cron(${fields}): exactly one of day-of-month and day-of-week must be '?'.`;
  }
  if (year !== '*') return `The local Scheduler supports only '*' in the year field of cron(${fields}).`;
  if (/[LW#]/.test(`${dom} ${dow}`.replace(/[A-Z]{3}/g, ''))) {
    return `The local Scheduler does not support L, W or # in cron(${fields}).`;
  }
  const days =
    dow === '?' ? '*' : dow.replace(/(^|[,-])(\d+)/g, (_, sep: string, n: string) => `${sep}${Number(n) - 1}`);
  const standard = `${minute} ${hour} ${dom === '?' ? '*' : dom} ${month} ${days}`;
  const problem = /(^|[,-])-1/.test(days) ? 'day of week: 0 is not a day (1-7, Sunday is 1)' : cronProblem(standard);
  return problem ? `Invalid Schedule Expression cron(${fields}): ${problem}.` : `cron:${standard}`;
}

/**
 * The first fire strictly after `after` (epoch ms), or undefined when there is none. A rate
 * counts its periods from `anchor` (the start date, or when the schedule was created or changed).
 */
export function nextFire(recurrence: Recurrence, after: number, anchor: number): number | undefined {
  switch (recurrence.kind) {
    case 'at':
      return recurrence.at > after ? recurrence.at : undefined;
    case 'rate': {
      if (anchor > after) return anchor;
      return anchor + (Math.floor((after - anchor) / recurrence.periodMs) + 1) * recurrence.periodMs;
    }
    case 'cron':
      return nextFires(recurrence, new Date(after), 1)[0]?.getTime();
  }
}

/** The instant a wall-clock time in `timezone` names (`2026-03-29T03:00:00` in Europe/Berlin). */
export function zonedInstant(wall: string, timezone: string): number {
  const asUtc = Date.parse(`${wall}Z`);
  if (Number.isNaN(asUtc)) return Number.NaN;
  // The zone's offset at the guess, twice: the second pass settles a guess on the other side of a change.
  let instant = asUtc;
  for (let pass = 0; pass < 2; pass++) instant = asUtc - offsetMs(instant, timezone);
  return instant;
}

function offsetMs(instant: number, timezone: string): number {
  const offset = localTime(new Date(instant), timezone).slice(-6);
  const sign = offset.startsWith('-') ? -1 : 1;
  return sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6))) * 60_000;
}
