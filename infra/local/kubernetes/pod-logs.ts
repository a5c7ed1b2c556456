/**
 * Container logs in the Kubernetes simulator, and `GET /api/v1/namespaces/{ns}/pods/{name}/log` as
 * kubelet serves it through the API server: each line stamped on write with a nanosecond time,
 * `timestamps=true` prefixing it in kubelet's fixed RFC 3339 form (`2026-01-02T03:04:05.123456789Z `),
 * `tailLines` taken before `sinceTime`/`sinceSeconds`, `limitBytes` counting the prefixes, and
 * `follow=true` streaming until the container ends. Like kube-apiserver, which forwards `sinceTime`
 * to kubelet formatted as RFC 3339 without fractions, `sinceTime` counts in whole seconds: a client
 * resuming from its last line's time gets that second's lines again and must skip what it has seen.
 * Logs live as long as their pod.
 */
import type { ServerResponse } from 'node:http';
import type { JsonObject } from './json.ts';
import { badRequest, invalid, type StatusCause } from './status.ts';

interface LogLine {
  /** Nanoseconds since the epoch, strictly increasing within a log. */
  at: bigint;
  text: string;
}

interface Follower {
  line(line: LogLine): void;
  end(): void;
}

interface ContainerLog {
  lines: LogLine[];
  ended: boolean;
  followers: Set<Follower>;
}

/** What kubelet's runtime keeps of each container's output, by pod uid. */
export class PodLogs {
  #pods = new Map<string, Map<string, ContainerLog>>();
  #lastAt = 0n;

  /** Appends one line per `\n`-separated part of `text`, stamped now. */
  write(podUid: string, container: string, text: string): void {
    const log = this.#log(podUid, container);
    if (log.ended) return;
    for (const part of text.split('\n')) {
      const line = { at: this.#now(), text: part };
      log.lines.push(line);
      for (const follower of log.followers) follower.line(line);
    }
  }

  /** The container exited: followers get the end of their stream. */
  end(podUid: string, container: string): void {
    const log = this.#log(podUid, container);
    log.ended = true;
    for (const follower of log.followers) follower.end();
    log.followers.clear();
  }

  /** The pod is gone, and its logs with it. */
  drop(podUid: string): void {
    for (const log of this.#pods.get(podUid)?.values() ?? []) {
      for (const follower of log.followers) follower.end();
    }
    this.#pods.delete(podUid);
  }

  /** The whole output of a container so far (empty for one that wrote nothing). */
  text(podUid: string, container: string): string {
    return this.lines(podUid, container)
      .map((line) => `${line.text}\n`)
      .join('');
  }

  lines(podUid: string, container: string): readonly LogLine[] {
    return this.#pods.get(podUid)?.get(container)?.lines ?? [];
  }

  /** Calls `follower` for each new line until the container ends or the pod goes; returns the unsubscribe. */
  follow(podUid: string, container: string, follower: Follower): () => void {
    const log = this.#log(podUid, container);
    if (log.ended) {
      follower.end();
      return () => {};
    }
    log.followers.add(follower);
    return () => log.followers.delete(follower);
  }

  #log(podUid: string, container: string): ContainerLog {
    let pod = this.#pods.get(podUid);
    if (!pod) {
      pod = new Map();
      this.#pods.set(podUid, pod);
    }
    let log = pod.get(container);
    if (!log) {
      log = { lines: [], ended: false, followers: new Set() };
      pod.set(container, log);
    }
    return log;
  }

  /** Wall-clock nanoseconds (microsecond resolution), never twice the same. */
  #now(): bigint {
    const wall = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
    this.#lastAt = wall > this.#lastAt ? wall : this.#lastAt + 1n;
    return this.#lastAt;
  }
}

/** kubelet's `RFC3339NanoFixed`: always nine fraction digits, UTC. */
export function nanoTimestamp(at: bigint): string {
  const seconds = at / 1_000_000_000n;
  const fraction = (at % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
}

interface LogOptions {
  container: string | undefined;
  follow: boolean;
  timestamps: boolean;
  previous: boolean;
  tailLines: number | undefined;
  limitBytes: number | undefined;
  /** Lines stamped before this (nanoseconds) are left out. */
  since: bigint | undefined;
}

/**
 * Serves one log request for `pod` (already read: an unknown pod was a 404). Headers go out at once
 * so a follower's client sees the stream open; `streams` holds the open follows for shutdown.
 */
export function servePodLog(
  logs: PodLogs,
  pod: JsonObject,
  query: URLSearchParams,
  response: ServerResponse,
  streams: Set<ServerResponse>,
): void {
  const metadata = pod.metadata as JsonObject;
  const podName = String(metadata.name);
  const uid = String(metadata.uid);
  const options = logOptions(podName, query);
  const container = chooseContainer(pod, options.container);
  const state = containerState(pod, container);
  if (options.previous) throw badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
  if (state.waiting) {
    const reason = String((state.waiting as JsonObject).reason ?? 'ContainerCreating');
    throw badRequest(`container "${container}" in pod "${podName}" is waiting to start: ${reason}`);
  }
  let budget = options.limitBytes ?? Number.POSITIVE_INFINITY;
  const render = (line: LogLine): Buffer | undefined => {
    if (options.since !== undefined && line.at < options.since) return undefined;
    const text = `${options.timestamps ? `${nanoTimestamp(line.at)} ` : ''}${line.text}\n`;
    const bytes = Buffer.from(text);
    const allowed = bytes.subarray(0, Math.max(0, Math.min(bytes.length, budget)));
    budget -= allowed.length;
    return allowed;
  };
  response.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache, private' });
  response.flushHeaders();
  const all = logs.lines(uid, container);
  for (const line of options.tailLines === undefined ? all : all.slice(Math.max(0, all.length - options.tailLines))) {
    const chunk = render(line);
    if (chunk?.length) response.write(chunk);
  }
  const running = state.running !== undefined;
  if (!options.follow || !running || budget <= 0) {
    response.end();
    return;
  }
  let unsubscribe = (): void => {};
  const finish = (): void => {
    unsubscribe();
    streams.delete(response);
    response.end();
  };
  streams.add(response);
  // The client went away (or the stream ended): stop following.
  response.on('close', finish);
  unsubscribe = logs.follow(uid, container, {
    line: (line) => {
      const chunk = render(line);
      if (chunk?.length) response.write(chunk);
      if (budget <= 0) finish();
    },
    end: finish,
  });
}

function logOptions(podName: string, query: URLSearchParams): LogOptions {
  const causes: StatusCause[] = [];
  const integer = (name: string, minimum: number): number | undefined => {
    const text = query.get(name);
    if (text === null || text === '') return undefined;
    const value = Number(text);
    if (!Number.isInteger(value)) throw badRequest(`${name}: invalid value "${text}": expected an integer`);
    if (value < minimum) {
      causes.push({
        field: name,
        message: `Invalid value: ${value}: must be greater than ${minimum === 0 ? 'or equal to 0' : '0'}`,
      });
    }
    return value;
  };
  const flag = (name: string): boolean => query.get(name) === 'true' || query.get(name) === '1';
  const tailLines = integer('tailLines', 0);
  const limitBytes = integer('limitBytes', 1);
  const sinceSeconds = integer('sinceSeconds', 1);
  const sinceTime = query.get('sinceTime') || undefined;
  if (sinceSeconds !== undefined && sinceTime !== undefined) {
    causes.push({
      field: 'sinceSeconds',
      message: 'Invalid value: at most one of `sinceTime` or `sinceSeconds` may be specified',
    });
  }
  if (causes.length > 0)
    throw invalid({ group: '', plural: 'podlogoptions', kind: 'PodLogOptions', name: podName }, causes);
  let since: bigint | undefined;
  if (sinceTime !== undefined) since = BigInt(wholeSeconds(sinceTime)) * 1_000_000_000n;
  else if (sinceSeconds !== undefined) since = (BigInt(Date.now()) - BigInt(sinceSeconds) * 1000n) * 1_000_000n;
  return {
    container: query.get('container') || undefined,
    follow: flag('follow'),
    timestamps: flag('timestamps'),
    previous: flag('previous'),
    tailLines,
    limitBytes,
    since,
  };
}

/** An RFC 3339 time as the API server passes it on to kubelet: whole seconds since the epoch. */
function wholeSeconds(text: string): number {
  const rfc3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$/i.exec(text);
  const ms = rfc3339 ? Date.parse(`${rfc3339[1]}${rfc3339[2]}`) : Number.NaN;
  if (Number.isNaN(ms)) throw badRequest(`sinceTime: parsing time "${text}" as RFC 3339 failed`);
  return Math.floor(ms / 1000);
}

function containers(pod: JsonObject): JsonObject[] {
  const spec = (pod.spec ?? {}) as JsonObject;
  return (Array.isArray(spec.containers) ? spec.containers : []) as JsonObject[];
}

function chooseContainer(pod: JsonObject, wanted: string | undefined): string {
  const podName = String((pod.metadata as JsonObject).name);
  const names = containers(pod).map((container) => String(container.name));
  if (wanted === undefined) {
    if (names.length === 1) return names[0] as string;
    throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`);
  }
  if (!names.includes(wanted)) throw badRequest(`container ${wanted} is not valid for pod ${podName}`);
  return wanted;
}

function containerState(pod: JsonObject, container: string): JsonObject {
  const statuses = (((pod.status ?? {}) as JsonObject).containerStatuses ?? []) as JsonObject[];
  const status = statuses.find((candidate) => candidate.name === container);
  return (status?.state as JsonObject | undefined) ?? { waiting: { reason: 'ContainerCreating' } };
}
