/**
 * Time on the release calendar: standard 5-field cron expressions in an IANA time zone, their
 * next fire times as EventBridge Scheduler computes them (a local time that does not exist on a
 * spring-forward day is skipped, a repeated one on a fall-back day fires once), and the
 * expression Scheduler is given for them. One module, so the API's view, the fire function, the
 * freeze check and the local Scheduler agree to the minute (ADR 24).
 */
import { Cron } from 'croner';
import * as z from 'zod/mini';

/** The five fields of a standard cron expression, named as a problem names them. */
export const CRON_FIELDS = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const RANGES: readonly [number, number, readonly string[]][] = [
  [0, 59, []],
  [0, 23, []],
  [1, 31, []],
  [1, 12, MONTHS],
  [0, 7, DAYS],
];

export interface CronRecurrence {
  cron: string;
  timezone: string;
}

/** True for a zone name the runtime's time zone database knows (`Europe/Berlin`, `UTC`). */
export function isTimeZone(name: string): boolean {
  if (name.length === 0 || name.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a cron expression is refused, naming the field, or undefined when it is valid. Only the
 * standard five fields with `*`, lists, ranges, steps and month/day names: no seconds, no year,
 * no `?`/`L`/`W`/`#`, and not both day fields restricted (standard cron ORs them; Scheduler
 * cannot say that, so a schedule could not fire as its view promises).
 */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    return `a cron expression has 5 fields (minute hour day-of-month month day-of-week); this one has ${fields.length}`;
  }
  for (const [index, field] of fields.entries()) {
    const problem = fieldProblem(field, index);
    if (problem) return `${CRON_FIELDS[index]}: ${problem}`;
  }
  if (fields[2] !== '*' && fields[4] !== '*') {
    return 'day of week: restrict either the day of month or the day of week, not both';
  }
  return undefined;
}

function fieldProblem(field: string, index: number): string | undefined {
  const [min, max, names] = RANGES[index] as [number, number, readonly string[]];
  for (const part of field.split(',')) {
    const match = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(part);
    if (!match) return `'${part}' is not a value, range, list or step`;
    const [, base, step] = match;
    if (step !== undefined && (Number(step) < 1 || Number(step) > max)) return `step ${step} is out of range`;
    if (base === '*') continue;
    const bounds = (base as string).split('-').map((v) => fieldValue(v, names));
    if (bounds.some((v) => v === undefined || v < min || v > max)) return `'${part}' is outside ${min}-${max}`;
    if (bounds.length === 2 && (bounds[0] as number) > (bounds[1] as number)) return `'${part}' is a backwards range`;
  }
  return undefined;
}

function fieldValue(token: string, names: readonly string[]): number | undefined {
  if (/^\d+$/.test(token)) return Number(token);
  const at = names.indexOf(token.toUpperCase());
  if (at < 0) return undefined;
  return names === MONTHS ? at + 1 : at;
}

const cronCache = new Map<string, Cron>();

function cronOf({ cron, timezone }: CronRecurrence): Cron {
  const key = `${timezone} ${cron}`;
  let parsed = cronCache.get(key);
  if (!parsed) {
    // Standard cron: Sunday is 0 (and 7), and restricted day fields would be ORed (refused above).
    parsed = new Cron(cronerPattern(cron), { timezone, paused: true, mode: '5-part' });
    if (cronCache.size > 500) cronCache.clear();
    cronCache.set(key, parsed);
  }
  return parsed;
}

/**
 * croner refuses a step from a value (`5/15`, which cronProblem accepts and AWS writes); cron reads
 * it as from that value to the field's end, so it is given as that range (`5-59/15`).
 */
function cronerPattern(cron: string): string {
  return cron
    .trim()
    .split(/\s+/)
    .map((field, index) =>
      field.replace(/(^|,)([A-Za-z0-9]+)\/(\d+)/g, (_, sep: string, from: string, step: string) => {
        const [, max, names] = RANGES[index] as [number, number, readonly string[]];
        // The day of week ends on Saturday (6): 7 is Sunday again.
        const last = index === 4 ? 6 : max;
        const end = /^\d+$/.test(from) ? String(last) : (names[names === MONTHS ? last - 1 : last] as string);
        return `${sep}${from}-${end}/${step}`;
      }),
    )
    .join(' ');
}

/**
 * The next `count` fire times strictly after `after`. croner moves a local time that does not
 * exist (02:30 on a spring-forward day) to the next valid minute; Scheduler skips it, so a
 * candidate whose local time does not match the expression is dropped. A repeated local time
 * (fall back) is returned once, at its first occurrence, as Scheduler fires it.
 */
export function nextFires(recurrence: CronRecurrence, after: Date, count: number): Date[] {
  const cron = cronOf(recurrence);
  const fires: Date[] = [];
  let cursor = after;
  // Bounded: at most one skipped candidate per DST change, so a few extra steps always suffice.
  for (let step = 0; fires.length < count && step < count * 2 + 8; step++) {
    const next = cron.nextRun(cursor);
    if (!next) break;
    if (cron.match(next)) fires.push(next);
    cursor = next;
  }
  return fires;
}

/** The latest fire time at or before `at` (within `lookbackMs`), for windows that started earlier. */
export function lastFireAtOrBefore(recurrence: CronRecurrence, at: Date, lookbackMs: number): Date | undefined {
  let found: Date | undefined;
  let cursor = new Date(at.getTime() - lookbackMs - 1);
  for (;;) {
    const [next] = nextFires(recurrence, cursor, 1);
    if (!next || next.getTime() > at.getTime()) return found;
    found = next;
    cursor = next;
  }
}

/** `2026-03-29T03:00:00+02:00`: an instant as the wall clock of `timezone` shows it, with its offset. */
export function localTime(instant: Date, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const wall = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
  const offsetMinutes = Math.round((Date.parse(`${wall}Z`) - Math.floor(instant.getTime() / 1000) * 1000) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${wall}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/**
 * The Scheduler expression for a cron recurrence: AWS's six fields (`cron(m h dom mon dow year)`)
 * with `?` in the day field left open, and the day of week spelled as names (AWS numbers Sunday 1,
 * standard cron 0: names mean the same to both).
 */
export function schedulerCron(cron: string): string {
  // AWS writes a step from the field's start (`0/15`), not from `*`.
  const [minute, hour, dom, month, dow] = cron
    .trim()
    .split(/\s+/)
    .map((field, i) => (i < 4 ? field.replaceAll('*/', `${RANGES[i]?.[0]}/`) : field)) as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (dow === '*') return `cron(${minute} ${hour} ${dom} ${month} ? *)`;
  return `cron(${minute} ${hour} ? ${month} ${daysOfWeek(dow)} *)`;
}

/**
 * When a one-time schedule for `instant` fires: Scheduler fires to the minute, so an instant within a
 * minute fires at the next whole one, never before it (a floor would fire up to 59 s early, or, for
 * an instant later in the current minute, never).
 */
export const fireMinute = (instant: Date): Date => new Date(Math.ceil(instant.getTime() / 60_000) * 60_000);

/** `at(2026-12-24T22:01:00)` in UTC, as Scheduler's one-time expression takes it: the instant's fire minute. */
export const schedulerAt = (instant: Date): string => `at(${fireMinute(instant).toISOString().slice(0, 19)})`;

/** `instant` on the wall clock of the offset a client wrote an RFC 3339 time with (`…+01:00`, `…Z`); the same instant as written. */
export function inOffsetOf(written: string, instant: Date): string {
  if (Date.parse(written) === instant.getTime()) return written;
  const offset = /([+-])(\d\d):(\d\d)$/.exec(written);
  if (!offset) return instant.toISOString().replace('.000Z', 'Z');
  const minutes = (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3]));
  const wall = new Date(instant.getTime() + minutes * 60_000).toISOString().slice(0, 19);
  return `${wall}${offset[0]}`;
}

function daysOfWeek(field: string): string {
  const days = new Set<number>();
  for (const part of field.split(',')) {
    const [base, step] = part.split('/') as [string, string | undefined];
    const [from, to] =
      base === '*'
        ? [0, 6]
        : base.includes('-')
          ? (base.split('-').map((v) => fieldValue(v, DAYS) as number) as [number, number])
          : [fieldValue(base, DAYS) as number, step ? 6 : (fieldValue(base, DAYS) as number)];
    for (let day = from; day <= to; day += Number(step ?? 1)) days.add(day % 7);
  }
  return [...days]
    .sort((a, b) => a - b)
    .map((d) => DAYS[d])
    .join(',');
}

/** Schema fields for requests. */
export const cronExpression = z.string().check(
  z.maxLength(100),
  z.refine((value) => cronProblem(value) === undefined, { error: (issue) => cronProblem(String(issue.input)) }),
);

export const timeZone = z
  .string()
  .check(z.refine(isTimeZone, 'is not an IANA time zone this platform knows (e.g. Europe/Berlin, UTC)'));

/** An RFC 3339 instant with its offset (`2026-12-24T23:00:00+01:00` or `…Z`). */
export const instant = z.iso.datetime({ offset: true });
