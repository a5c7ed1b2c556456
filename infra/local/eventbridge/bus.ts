/**
 * One local EventBridge bus behind the AWS JSON endpoint (aws-endpoint.ts, prefix `AWSEvents`):
 * PutEvents validates each entry as AWS does and answers at once; delivery to the targets of every
 * matching rule happens afterwards, each target on its own, retried with exponential backoff and
 * jitter up to the rule's retry policy, then kept as a dead letter (in memory, and appended to
 * `<dataDir>/eventbridge/dead-letters.jsonl`, read back on start).
 *
 * Differences from AWS, on purpose: rules are fixed at start (no PutRule/PutTargets); deliveries
 * still waiting for a retry when the bus stops are dropped, not dead-lettered.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BusEvent } from '../../../shared/events/envelope.ts';
import { type AwsService, AwsServiceError } from '../aws-endpoint.ts';
import { matches, validatePattern } from './pattern.ts';

export interface BusTarget {
  id: string;
  /** Resolves when the target took the event; a rejection is a failed attempt. */
  invoke(event: BusEvent): Promise<void>;
}

export interface RetryPolicy {
  /** Retries after the first attempt (AWS: 0-185, default 185). */
  maximumRetryAttempts?: number;
  /** Give up on an event older than this (AWS: 60-86400, default 86400). */
  maximumEventAgeSeconds?: number;
}

export interface BusRule {
  name: string;
  pattern: object;
  targets: BusTarget[];
  retryPolicy?: RetryPolicy;
}

export interface DeadLetter {
  rule: string;
  target: string;
  event: BusEvent;
  error: string;
  attempts: number;
  first_attempt_at: string;
  last_attempt_at: string;
}

export interface LocalEventBusOptions {
  busName: string;
  region: string;
  accountId: string;
  rules: BusRule[];
  /** Delay before retry n is about initialMs * 2^(n-1), capped at maxMs, with jitter. */
  backoff?: { initialMs: number; maxMs: number };
  /** Keeps dead letters between runs when given. */
  dataDir?: string;
  log?(line: string): void;
}

export interface LocalEventBus {
  /** Mount as `services: { AWSEvents: bus.service }` on startAwsEndpoint. */
  service: AwsService;
  deadLetters(): DeadLetter[];
  /** An event an AWS service sends (e.g. Step Functions' status changes), routed like any other. */
  emit(event: { source: string; detailType: string; detail: Record<string, unknown>; resources?: string[] }): void;
  /** Resolves when no delivery is pending (every event delivered or dead-lettered). */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

const AWS_DEFAULT_RETRY_ATTEMPTS = 185;
const AWS_DEFAULT_EVENT_AGE_SECONDS = 24 * 60 * 60;
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

export function createLocalEventBus(options: LocalEventBusOptions): LocalEventBus {
  for (const rule of options.rules) validatePattern(rule.pattern);
  const log = options.log ?? (() => {});
  const backoff = options.backoff ?? { initialMs: 1_000, maxMs: 60_000 };
  const busArn = `arn:aws:events:${options.region}:${options.accountId}:event-bus/${options.busName}`;
  const deadLetterFile = options.dataDir ? join(options.dataDir, 'eventbridge', 'dead-letters.jsonl') : undefined;
  const deadLetters: DeadLetter[] = deadLetterFile ? readJsonLines<DeadLetter>(deadLetterFile) : [];
  const stopping = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const idle: (() => void)[] = [];

  const deliver = async (rule: BusRule, target: BusTarget, event: BusEvent): Promise<void> => {
    const policy = rule.retryPolicy ?? {};
    const maxAttempts = 1 + (policy.maximumRetryAttempts ?? AWS_DEFAULT_RETRY_ATTEMPTS);
    const expiresAt = Date.now() + (policy.maximumEventAgeSeconds ?? AWS_DEFAULT_EVENT_AGE_SECONDS) * 1000;
    const firstAttemptAt = new Date().toISOString();
    for (let attempt = 1; ; attempt++) {
      try {
        await target.invoke(event);
        return;
      } catch (error) {
        const delay = retryDelay(backoff, attempt);
        const message = error instanceof Error ? error.message : String(error);
        if (attempt >= maxAttempts || Date.now() + delay > expiresAt) {
          const letter: DeadLetter = {
            rule: rule.name,
            target: target.id,
            event,
            error: message,
            attempts: attempt,
            first_attempt_at: firstAttemptAt,
            last_attempt_at: new Date().toISOString(),
          };
          deadLetters.push(letter);
          if (deadLetterFile) appendJsonLine(deadLetterFile, letter);
          log(
            `eventbridge: dead-lettered event ${event.id} for ${rule.name}/${target.id} after ${attempt} attempts: ${message}`,
          );
          return;
        }
        log(`eventbridge: ${rule.name}/${target.id} failed on attempt ${attempt} (${message}); retry in ${delay} ms`);
        await sleep(delay, undefined, { signal: stopping.signal });
      }
    }
  };

  const track = (delivery: Promise<void>): void => {
    const settled = delivery.catch(() => {}); // a stop aborts the sleep: the delivery is dropped
    inFlight.add(settled);
    void settled.finally(() => {
      inFlight.delete(settled);
      if (inFlight.size === 0) for (const resolve of idle.splice(0)) resolve();
    });
  };

  const route = (event: BusEvent): void => {
    for (const rule of options.rules) {
      if (!matches(rule.pattern, event)) continue;
      for (const target of rule.targets) track(deliver(rule, target, event));
    }
  };

  const putEvents = (input: Record<string, unknown>) => {
    if (stopping.signal.aborted) throw new AwsServiceError('ServiceUnavailable', 'The local event bus is stopped', 503);
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES) {
      throw new AwsServiceError(
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}`,
      );
    }
    if (entries.reduce((total: number, entry) => total + entrySize(entry), 0) > MAX_REQUEST_BYTES) {
      throw new AwsServiceError('ValidationException', 'Total size of the entries in the request is over the limit.');
    }
    const accepted: BusEvent[] = [];
    const results = entries.map((entry: Record<string, unknown>) => {
      const problem = entryProblem(entry, options.busName, busArn);
      if (problem) return problem;
      const event = envelope(entry, options);
      accepted.push(event);
      return { EventId: event.id };
    });
    // Delivery starts after the answer, as on AWS: a slow target never delays the producer.
    const routing = new Promise<void>((resolve) =>
      setImmediate(() => {
        for (const event of accepted) route(event);
        resolve();
      }),
    );
    track(routing);
    return { FailedEntryCount: entries.length - accepted.length, Entries: results };
  };

  const describe = (rule: BusRule) => ({
    Name: rule.name,
    Arn: ruleArn(options, rule.name),
    EventPattern: JSON.stringify(rule.pattern),
    State: 'ENABLED',
    EventBusName: options.busName,
  });

  const service: AwsService = async (operation, input) => {
    switch (operation) {
      case 'PutEvents':
        return putEvents(input);
      case 'ListRules':
        return { Rules: options.rules.filter((r) => r.name.startsWith(String(input.NamePrefix ?? ''))).map(describe) };
      case 'DescribeRule': {
        const rule = options.rules.find((r) => r.name === input.Name);
        if (!rule) throw new AwsServiceError('ResourceNotFoundException', `Rule ${String(input.Name)} does not exist.`);
        return describe(rule);
      }
      default:
        throw new AwsServiceError('UnknownOperationException', `The local event bus does not implement ${operation}`);
    }
  };

  return {
    service,
    deadLetters: () => [...deadLetters],
    emit: ({ source, detailType, detail, resources }) => {
      if (stopping.signal.aborted) return;
      const event = envelope(
        { Source: source, DetailType: detailType, Detail: JSON.stringify(detail), Resources: resources ?? [] },
        options,
      );
      track(new Promise<void>((resolve) => setImmediate(() => resolve(route(event)))));
    },
    drained: () =>
      inFlight.size === 0
        ? Promise.resolve()
        : new Promise((resolve) => {
            idle.push(resolve);
          }),
    stop: async () => {
      stopping.abort();
      await Promise.all(inFlight);
    },
  };
}

/** Equal jitter: half the exponential delay fixed, half random, so retries of many events spread out. */
export function retryDelay(backoff: { initialMs: number; maxMs: number }, attempt: number): number {
  const exponential = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1));
  return Math.round(exponential / 2 + Math.random() * (exponential / 2));
}

/** EventBridge's documented entry size: Time 14 bytes, then Source, DetailType, Detail and Resources in UTF-8. */
function entrySize(entry: Record<string, unknown>): number {
  const bytes = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  const resources = Array.isArray(entry.Resources) ? entry.Resources : [];
  return (
    (entry.Time === undefined ? 0 : 14) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    resources.reduce((total: number, r) => total + bytes(r), 0)
  );
}

/** The per-entry error AWS answers, or undefined when the entry is accepted. */
function entryProblem(
  entry: Record<string, unknown>,
  busName: string,
  busArn: string,
): { ErrorCode: string; ErrorMessage: string } | undefined {
  const bus = entry.EventBusName ?? 'default';
  if (bus !== busName && bus !== busArn) {
    return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${String(bus)} does not exist.` };
  }
  for (const field of ['Source', 'DetailType', 'Detail']) {
    const value = entry[field];
    if (typeof value !== 'string' || value.length === 0) {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
      };
    }
  }
  if (String(entry.Source).startsWith('aws.')) {
    return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
  }
  if (!isJsonObjectText(entry.Detail as string))
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  return undefined;
}

function isJsonObjectText(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** The event as rules and targets see it; `Time` arrives from the SDK as epoch seconds. */
function envelope(entry: Record<string, unknown>, options: LocalEventBusOptions): BusEvent {
  const time = typeof entry.Time === 'number' ? new Date(entry.Time * 1000) : new Date();
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': entry.DetailType as string,
    source: entry.Source as string,
    account: options.accountId,
    time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: options.region,
    resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
    detail: JSON.parse(entry.Detail as string),
  };
}

function ruleArn(options: LocalEventBusOptions, ruleName: string): string {
  const path = options.busName === 'default' ? ruleName : `${options.busName}/${ruleName}`;
  return `arn:aws:events:${options.region}:${options.accountId}:rule/${path}`;
}

/** Dead letters kept one JSON document a line (the local Scheduler's too). */
export function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const letters: T[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      letters.push(JSON.parse(line) as T);
    } catch {
      // A line cut short by a crash mid-append: skip it, keep the rest.
    }
  }
  return letters;
}

/** Synchronous so lines never interleave; dead letters are rare. */
export function appendJsonLine(file: string, letter: unknown): void {
  mkdirSync(join(file, '..'), { recursive: true });
  appendFileSync(file, `${JSON.stringify(letter)}\n`);
}
