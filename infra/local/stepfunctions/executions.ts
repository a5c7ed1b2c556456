/**
 * Execution records of the local Step Functions: status, input/output and the AWS-shaped event
 * history, kept in memory or, with a data folder, as one JSON file per execution so a restarted
 * local cloud can still describe, list and show the history of earlier executions.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One event as GetExecutionHistory returns it; `timestamp` in epoch milliseconds until it is answered. */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  /** Epoch milliseconds. */
  startDate: number;
  stopDate?: number;
  /** JSON text, as the API carries it. */
  input: string;
  /** The X-Ray header its tasks run under: StartExecution's `traceHeader` continued, or a trace of its own. */
  traceHeader: string;
  output?: string;
  error?: string;
  cause?: string;
  /** States entered, nested ones included: Standard workflows bill per transition. */
  transitions: number;
  /** Start order, newest highest: ListExecutions sorts and pages on it. */
  seq: number;
  history: HistoryEvent[];
}

/** The final fields of an execution that has ended. */
export interface ExecutionEnd {
  status: Exclude<ExecutionStatus, 'RUNNING'>;
  output?: string;
  error?: string;
  cause?: string;
}

const END_EVENT: Record<ExecutionEnd['status'], string> = {
  SUCCEEDED: 'ExecutionSucceeded',
  FAILED: 'ExecutionFailed',
  TIMED_OUT: 'ExecutionTimedOut',
  ABORTED: 'ExecutionAborted',
};

export class ExecutionStore {
  readonly #records = new Map<string, ExecutionRecord>();
  readonly #dir: string | undefined;
  readonly #dirty = new Set<ExecutionRecord>();
  #flushScheduled = false;
  #nextSeq = 1;
  readonly #onEnd: ((record: ExecutionRecord) => void) | undefined;
  #detached = false;

  /**
   * With `dir`, loads the executions saved there; ones left RUNNING by an earlier process are ABORTED.
   * `onEnd` hears of every execution that ends, as EventBridge hears of Step Functions' status changes.
   */
  constructor(dir?: string, onEnd?: (record: ExecutionRecord) => void) {
    this.#dir = dir;
    this.#onEnd = onEnd;
    if (dir === undefined) return;
    mkdirSync(dir, { recursive: true });
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.json'))) {
      const record = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ExecutionRecord;
      this.#records.set(record.executionArn, record);
      this.#nextSeq = Math.max(this.#nextSeq, record.seq + 1);
      if (record.status === 'RUNNING') {
        this.end(record, { status: 'ABORTED', error: 'States.Runtime', cause: 'The local cloud restarted' });
      }
    }
  }

  get(executionArn: string): ExecutionRecord | undefined {
    return this.#records.get(executionArn);
  }

  /** Newest first. */
  list(stateMachineArn: string): ExecutionRecord[] {
    return [...this.#records.values()]
      .filter((r) => r.stateMachineArn === stateMachineArn)
      .sort((a, b) => b.seq - a.seq);
  }

  running(): ExecutionRecord[] {
    return [...this.#records.values()].filter((r) => r.status === 'RUNNING');
  }

  create(
    fields: Pick<ExecutionRecord, 'executionArn' | 'stateMachineArn' | 'name' | 'input' | 'traceHeader'>,
  ): ExecutionRecord {
    const record: ExecutionRecord = {
      ...fields,
      status: 'RUNNING',
      startDate: Date.now(),
      transitions: 0,
      seq: this.#nextSeq++,
      history: [],
    };
    this.#records.set(record.executionArn, record);
    this.append(record, 'ExecutionStarted', { input: record.input, inputDetails: { truncated: false } });
    return record;
  }

  /**
   * Adds one event. AWS names the details after the event type (`taskScheduledEventDetails`),
   * except state events, which share `stateEnteredEventDetails` / `stateExitedEventDetails`.
   */
  append(record: ExecutionRecord, type: string, details?: object, detailsKey = defaultDetailsKey(type)): void {
    const id = record.history.length + 1;
    const event: HistoryEvent = { id, previousEventId: id - 1, timestamp: Date.now(), type };
    if (details !== undefined) event[detailsKey] = details;
    record.history.push(event);
    this.#save(record);
  }

  /** Ends a RUNNING execution (no-op otherwise) and records its final event. */
  end(record: ExecutionRecord, end: ExecutionEnd): void {
    if (record.status !== 'RUNNING') return;
    Object.assign(record, end, { stopDate: Date.now() });
    const details =
      end.status === 'SUCCEEDED'
        ? { output: end.output, outputDetails: { truncated: false } }
        : { error: end.error, cause: end.cause };
    this.append(record, END_EVENT[end.status], details);
    if (!this.#detached) this.#onEnd?.(record);
  }

  countTransition(record: ExecutionRecord): void {
    record.transitions += 1;
    this.#save(record);
  }

  /**
   * Saves what is on disk now and ignores every later change: executions still running stay
   * RUNNING in their files, so the next start aborts them and tells `onEnd` then, when the
   * consumers (and the database they write to) are up again.
   */
  detach(): void {
    this.flush();
    this.#detached = true;
  }

  /** Writes pending changes now (saves are otherwise batched once per event-loop turn). */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#dir === undefined) return;
    for (const record of this.#dirty) {
      const file = join(this.#dir, `${encodeURIComponent(record.executionArn.split(':').slice(-2).join(':'))}.json`);
      // Write then rename: a crash never leaves a half-written record behind.
      writeFileSync(`${file}.tmp`, JSON.stringify(record));
      renameSync(`${file}.tmp`, file);
    }
    this.#dirty.clear();
  }

  #save(record: ExecutionRecord): void {
    if (this.#dir === undefined || this.#detached) return;
    this.#dirty.add(record);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.flush());
  }
}

function defaultDetailsKey(type: string): string {
  return `${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`;
}

/** The paging AWS list operations use: `maxResults` 0 or absent means 100, at most 1000. */
export function pageSize(maxResults: unknown): number {
  const size = maxResults === undefined || maxResults === 0 ? 100 : Number(maxResults);
  return Number.isInteger(size) && size > 0 && size <= 1000 ? size : Number.NaN;
}
