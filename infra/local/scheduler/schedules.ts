/**
 * The local EventBridge Scheduler's schedules and their fires (its REST API is api.ts). Each
 * enabled schedule keeps its next scheduled time and when it is delivered (later by a random part
 * of a flexible window); one timer wakes for the earliest. A fire invokes the target with the
 * context attributes substituted in its Input, retried with backoff up to the target's retry
 * policy, then dead-lettered when the target names a queue (kept as a list here). One-time
 * schedules with ActionAfterCompletion DELETE go once they fired. Schedules persist in
 * `<dataDir>/scheduler/schedules.json`; on start, a schedule that missed fires while the cloud was
 * stopped delivers the latest of them once, with its scheduled time, and drops the older ones
 * (ADR 24). The clock can be moved (`setNow`, `advance`), so tests never wait real minutes.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsServiceError } from '../aws-endpoint.ts';
import { appendJsonLine, readJsonLines, retryDelay } from '../eventbridge/bus.ts';
import { nextFire, parseExpression, type Recurrence } from './expressions.ts';

/** The schedule's target as CreateSchedule takes it (the fields the local Scheduler acts on). */
export interface Target {
  Arn: string;
  RoleArn: string;
  Input?: string;
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn?: string };
  [other: string]: unknown;
}

/** What CreateSchedule and UpdateSchedule define (validated by api.ts). Times in epoch ms. */
export interface ScheduleDefinition {
  expression: string;
  timezone: string;
  description?: string;
  startDate?: number;
  endDate?: number;
  state: 'ENABLED' | 'DISABLED';
  flexibleWindow: { Mode: 'OFF' | 'FLEXIBLE'; MaximumWindowInMinutes?: number };
  target: Target;
  actionAfterCompletion: 'NONE' | 'DELETE';
  kmsKeyArn?: string;
  clientToken?: string;
}

export interface StoredSchedule extends ScheduleDefinition {
  name: string;
  group: string;
  arn: string;
  createdAt: number;
  modifiedAt: number;
  /** The scheduled time of the next fire not yet delivered; none once the schedule is complete. */
  next?: number;
  /** When that fire is delivered: `next`, or later within the flexible window. */
  dueAt?: number;
}

export interface SchedulerDeadLetter {
  /** The queue the target's DeadLetterConfig names; the message body is the rendered Input. */
  queue_arn: string;
  schedule_arn: string;
  target_arn: string;
  body: string;
  error_code: string;
  error_message: string;
  execution_id: string;
  scheduled_time: string;
  attempts: number;
  dead_lettered_at: string;
}

export interface LocalSchedulerOptions {
  region: string;
  accountId: string;
  /** Schedule groups besides `default` (on AWS: created by CDK). */
  groups?: readonly string[];
  /** Invokes the target (a Lambda function ARN) with its payload; a rejection is a failed attempt. */
  invoke(targetArn: string, payload: unknown): Promise<void>;
  /** Keeps schedules and dead letters between runs when given. */
  dataDir?: string;
  /** Delay before retry n is about initialMs * 2^(n-1), capped at maxMs, with jitter. */
  backoff?: { initialMs: number; maxMs: number };
  /** Where the clock starts (tests: a restart at a chosen instant); real time by default. */
  now?: Date;
  log?(line: string): void;
}

export interface LocalScheduler {
  /**
   * Starts firing: first the missed-fire rule, then the timer. Call once the targets can run (the
   * local cloud: after it set the functions' environment); API calls are served before.
   */
  start(): void;
  create(group: string, name: string, definition: ScheduleDefinition): StoredSchedule;
  update(group: string, name: string, definition: ScheduleDefinition): StoredSchedule;
  remove(group: string, name: string): void;
  get(group: string, name: string): StoredSchedule;
  /** Every schedule, by group then name. */
  list(): StoredSchedule[];
  groupArn(group: string): string;
  hasGroup(group: string): boolean;
  /** The scheduler's clock (real time plus whatever tests moved it by). */
  now(): Date;
  /** Moves the clock to `at` and delivers what is due by then (each due fire in order). */
  setNow(at: Date): Promise<void>;
  advance(ms: number): Promise<void>;
  deadLetters(): SchedulerDeadLetter[];
  /** Resolves when no fire is being delivered or waiting for a retry. */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

const AWS_DEFAULT_RETRY_ATTEMPTS = 185;
const AWS_DEFAULT_EVENT_AGE_SECONDS = 86_400;
/** The timer wakes at least this often, so a long sleep or a system clock change is caught up. */
const MAX_TIMER_MS = 60_000;
/** Fires delivered for one schedule in one wake-up; a clock moved further drops the rest. */
const MAX_FIRES_PER_WAKE = 100;

export function createLocalScheduler(options: LocalSchedulerOptions): LocalScheduler {
  const log = options.log ?? (() => {});
  const backoff = options.backoff ?? { initialMs: 1_000, maxMs: 60_000 };
  const folder = options.dataDir ? join(options.dataDir, 'scheduler') : undefined;
  const file = folder && join(folder, 'schedules.json');
  const deadLetterFile = folder && join(folder, 'dead-letters.jsonl');
  const groups = new Set(['default', ...(options.groups ?? [])]);
  const schedules = new Map<string, StoredSchedule>(load(file).map((s) => [key(s.group, s.name), s]));
  const recurrences = new Map<string, Recurrence>();
  const deadLetters: SchedulerDeadLetter[] = deadLetterFile ? readJsonLines(deadLetterFile) : [];
  const stopping = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const idle: (() => void)[] = [];
  let offsetMs = options.now ? options.now.getTime() - Date.now() : 0;
  let timer: NodeJS.Timeout | undefined;
  let started = false;

  const now = () => Date.now() + offsetMs;
  const arnOf = (group: string, name: string) =>
    `arn:aws:scheduler:${options.region}:${options.accountId}:schedule/${group}/${name}`;
  const groupArn = (group: string) =>
    `arn:aws:scheduler:${options.region}:${options.accountId}:schedule-group/${group}`;

  const save = () => {
    if (!file || !folder) return;
    mkdirSync(folder, { recursive: true });
    // Write then rename: a crash never leaves a half-written file.
    writeFileSync(`${file}.tmp`, JSON.stringify([...schedules.values()], null, 2));
    renameSync(`${file}.tmp`, file);
  };

  const recurrenceOf = (schedule: StoredSchedule): Recurrence => {
    const id = `${schedule.arn} ${schedule.modifiedAt}`;
    let recurrence = recurrences.get(id);
    if (!recurrence) {
      const parsed = parseExpression(schedule.expression, schedule.timezone);
      if (typeof parsed === 'string') throw new Error(parsed); // stored schedules were validated
      recurrence = parsed;
      if (recurrences.size > 1_000) recurrences.clear();
      recurrences.set(id, recurrence);
    }
    return recurrence;
  };

  /** The first fire after `after` inside the schedule's dates, with its delivery time. */
  const plan = (schedule: StoredSchedule, after: number): void => {
    // A rate counts from its start date, or from when it was defined (its first fire at once).
    const anchor = schedule.startDate ?? schedule.modifiedAt;
    const from = Math.max(after, (schedule.startDate ?? 0) - 1);
    const next = nextFire(recurrenceOf(schedule), from, anchor);
    if (next === undefined || (schedule.endDate !== undefined && next > schedule.endDate)) {
      delete schedule.next;
      delete schedule.dueAt;
      return;
    }
    const window = schedule.flexibleWindow.Mode === 'FLEXIBLE' ? schedule.flexibleWindow.MaximumWindowInMinutes : 0;
    schedule.next = next;
    schedule.dueAt = next + Math.floor(Math.random() * (window ?? 0) * 60_000);
  };

  const track = (delivery: Promise<void>): void => {
    const settled = delivery.catch(() => {}); // a stop aborts a retry's wait: the fire is dropped
    inFlight.add(settled);
    void settled.finally(() => {
      inFlight.delete(settled);
      if (inFlight.size === 0) for (const resolve of idle.splice(0)) resolve();
    });
  };

  const deliver = async (schedule: StoredSchedule, scheduledTime: number): Promise<void> => {
    const { target, arn } = schedule;
    const executionId = randomUUID();
    const maxAttempts = 1 + (target.RetryPolicy?.MaximumRetryAttempts ?? AWS_DEFAULT_RETRY_ATTEMPTS);
    const maxAgeMs = (target.RetryPolicy?.MaximumEventAgeInSeconds ?? AWS_DEFAULT_EVENT_AGE_SECONDS) * 1000;
    const firstAttemptAt = Date.now();
    const scheduled = isoSeconds(scheduledTime);
    for (let attempt = 1; ; attempt++) {
      const body = render(target.Input ?? '{}', {
        'scheduled-time': scheduled,
        'execution-id': executionId,
        'attempt-number': String(attempt),
        'schedule-arn': arn,
      });
      const sent = { body, executionId, scheduled, attempts: attempt };
      const payload = parseJson(body);
      if (payload === undefined) {
        // Lambda refuses a payload that is not JSON; retrying the same text never helps.
        const message = 'Could not parse request body into json';
        return deadLetter(schedule, { ...sent, code: 'InvalidRequestContentException', message });
      }
      let failure: { code: string; message: string };
      try {
        await options.invoke(target.Arn, payload);
        return;
      } catch (error) {
        failure = { code: errorName(error), message: error instanceof Error ? error.message : String(error) };
      }
      const delay = retryDelay(backoff, attempt);
      if (attempt >= maxAttempts || Date.now() + delay - firstAttemptAt > maxAgeMs) {
        return deadLetter(schedule, { ...sent, ...failure });
      }
      log(`scheduler: ${schedule.name} failed on attempt ${attempt} (${failure.message}); retry in ${delay} ms`);
      await sleep(delay, undefined, { signal: stopping.signal });
    }
  };

  const deadLetter = (
    schedule: StoredSchedule,
    fire: { body: string; executionId: string; scheduled: string; attempts: number; code: string; message: string },
  ) => {
    const queue = schedule.target.DeadLetterConfig?.Arn;
    log(
      `scheduler: ${schedule.name} fire of ${fire.scheduled} failed after ${fire.attempts} attempts (${fire.message}); ${queue ? `sent to ${queue}` : 'dropped: no dead-letter queue'}`,
    );
    if (!queue) return;
    const letter: SchedulerDeadLetter = {
      queue_arn: queue,
      schedule_arn: schedule.arn,
      target_arn: schedule.target.Arn,
      body: fire.body,
      error_code: fire.code,
      error_message: fire.message,
      execution_id: fire.executionId,
      scheduled_time: fire.scheduled,
      attempts: fire.attempts,
      dead_lettered_at: new Date().toISOString(),
    };
    deadLetters.push(letter);
    if (deadLetterFile) appendJsonLine(deadLetterFile, letter);
  };

  /** Starts the delivery of one fire; then the schedule moves on, or completes. */
  const fire = (schedule: StoredSchedule, scheduledTime: number): void => {
    track(deliver({ ...schedule }, scheduledTime));
    plan(schedule, scheduledTime);
    if (schedule.next === undefined && schedule.actionAfterCompletion === 'DELETE') {
      schedules.delete(key(schedule.group, schedule.name));
    }
  };

  /** Delivers every fire due by now, in order. */
  const wake = (): void => {
    if (!started || stopping.signal.aborted) return;
    const at = now();
    let changed = false;
    for (const schedule of [...schedules.values()]) {
      for (let n = 0; isDue(schedule, at); n++) {
        if (n === MAX_FIRES_PER_WAKE) {
          log(`scheduler: ${schedule.name} has more than ${n} fires due at once; the older ones are dropped`);
          skipToLatest(schedule, at);
        }
        fire(schedule, schedule.next as number);
        changed = true;
      }
    }
    if (changed) save();
    arm();
  };

  /** Moves a schedule to the latest fire scheduled at or before `at` (the missed-fire rule). */
  const skipToLatest = (schedule: StoredSchedule, at: number): number => {
    let dropped = 0;
    for (;;) {
      const current = schedule.next as number;
      plan(schedule, current);
      if (schedule.next === undefined || schedule.next > at) {
        schedule.next = current;
        schedule.dueAt = current;
        return dropped;
      }
      dropped++;
    }
  };

  const arm = (): void => {
    if (timer) clearTimeout(timer);
    if (!started || stopping.signal.aborted) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const s of schedules.values())
      if (s.state === 'ENABLED' && s.dueAt !== undefined) earliest = Math.min(earliest, s.dueAt);
    const delay = Math.max(0, Math.min(earliest - now(), MAX_TIMER_MS));
    timer = setTimeout(wake, delay).unref();
  };

  const define = (schedule: StoredSchedule): StoredSchedule => {
    if (schedule.state === 'ENABLED') plan(schedule, now() - 1);
    else {
      delete schedule.next;
      delete schedule.dueAt;
    }
    schedules.set(key(schedule.group, schedule.name), schedule);
    save();
    arm();
    return schedule;
  };

  const find = (group: string, name: string): StoredSchedule => {
    if (!groups.has(group))
      throw new AwsServiceError('ResourceNotFoundException', `Schedule group ${group} does not exist.`, 404);
    const schedule = schedules.get(key(group, name));
    if (!schedule) throw new AwsServiceError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
    return schedule;
  };

  return {
    start() {
      if (started) return;
      started = true;
      // The missed-fire rule, once: the latest missed fire of each schedule, the older ones dropped.
      for (const schedule of schedules.values()) {
        if (schedule.state !== 'ENABLED' || schedule.next === undefined || schedule.next > now()) continue;
        const dropped = skipToLatest(schedule, now());
        if (dropped > 0)
          log(`scheduler: ${schedule.name} missed ${dropped + 1} fires while stopped; the latest is delivered`);
      }
      wake();
    },
    create(group, name, definition) {
      if (!groups.has(group))
        throw new AwsServiceError('ResourceNotFoundException', `Schedule group ${group} does not exist.`, 404);
      const existing = schedules.get(key(group, name));
      if (existing) {
        // The same ClientToken is the same request, retried: its first answer, not a conflict.
        if (definition.clientToken !== undefined && existing.clientToken === definition.clientToken) return existing;
        throw new AwsServiceError('ConflictException', `Schedule ${name} already exists.`, 409);
      }
      const at = now();
      return define({ ...definition, name, group, arn: arnOf(group, name), createdAt: at, modifiedAt: at });
    },
    update(group, name, definition) {
      const existing = find(group, name);
      return define({
        ...definition,
        name,
        group,
        arn: existing.arn,
        createdAt: existing.createdAt,
        modifiedAt: now(),
      });
    },
    remove(group, name) {
      find(group, name);
      schedules.delete(key(group, name));
      save();
      arm();
    },
    get: find,
    list: () => [...schedules.values()].sort((a, b) => key(a.group, a.name).localeCompare(key(b.group, b.name))),
    groupArn,
    hasGroup: (group) => groups.has(group),
    now: () => new Date(now()),
    async setNow(at) {
      offsetMs = at.getTime() - Date.now();
      wake();
    },
    async advance(ms) {
      offsetMs += ms;
      wake();
    },
    deadLetters: () => [...deadLetters],
    drained: () =>
      inFlight.size === 0
        ? Promise.resolve()
        : new Promise((resolve) => {
            idle.push(resolve);
          }),
    async stop() {
      stopping.abort();
      if (timer) clearTimeout(timer);
      await Promise.all(inFlight);
    },
  };
}

const key = (group: string, name: string) => `${group}/${name}`;

function isDue(schedule: StoredSchedule, at: number): boolean {
  return schedule.state === 'ENABLED' && schedule.dueAt !== undefined && schedule.dueAt <= at;
}

/** `2026-12-24T22:00:00Z`: how Scheduler writes `<aws.scheduler.scheduled-time>`. */
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The Input with Scheduler's context attributes (`<aws.scheduler.scheduled-time>`, ...) filled in. */
function render(input: string, attributes: Record<string, string>): string {
  return input.replace(/<aws\.scheduler\.([a-z-]+)>/g, (whole, name: string) => attributes[name] ?? whole);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorName(error: unknown): string {
  return error instanceof Error && error.name !== 'Error' ? error.name : 'Lambda.Unknown';
}

function load(file: string | undefined): StoredSchedule[] {
  if (!file) return [];
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StoredSchedule[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
