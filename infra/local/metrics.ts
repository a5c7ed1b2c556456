/**
 * The local cloud's CloudWatch metrics (ADR 27). On Lambda a function prints its EMF lines to
 * stdout and CloudWatch Logs extracts the metrics; here the functions run in this process, so a
 * tap on stdout reads the same lines. The local bus adds what EventBridge counts on AWS. `GET
 * /_local/metrics` lists every series (namespace, name, dimensions, last value) and
 * `GET /_local/metrics/emf` the last EMF documents as printed.
 */

/** One metric as CloudWatch would store it: a name and one set of dimension values. */
export interface MetricSeries {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  last: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  last_at: string;
  /** The function (EMF `service`) or local service that recorded the last value. */
  source: string;
}

export interface MetricsCollector {
  /** Reads one log line; answers whether it was an EMF document. */
  ingest(line: string): boolean;
  /** A count the local cloud itself makes (the bus's retries and dead letters). */
  count(namespace: string, name: string, dimensions: Record<string, string>, source: string): void;
  series(): MetricSeries[];
  /** The last EMF documents, oldest first. */
  documents(): Record<string, unknown>[];
  /** Reads stdout from now on; EMF lines go on to the terminal only when `echo`. Answers the untap. */
  tapStdout(echo: boolean): () => void;
}

const KEEP_DOCUMENTS = 500;

interface Directive {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit?: string }[];
}

export function createMetricsCollector(): MetricsCollector {
  const series = new Map<string, MetricSeries>();
  const documents: Record<string, unknown>[] = [];

  const add = (
    namespace: string,
    name: string,
    unit: string,
    dimensions: Record<string, string>,
    values: number[],
    source: string,
    at: string,
  ) => {
    const key = JSON.stringify([namespace, name, Object.entries(dimensions).sort()]);
    const entry = series.get(key) ?? {
      namespace,
      name,
      unit,
      dimensions,
      last: 0,
      count: 0,
      sum: 0,
      min: Infinity,
      max: -Infinity,
      last_at: at,
      source,
    };
    for (const value of values) {
      entry.last = value;
      entry.count++;
      entry.sum += value;
      entry.min = Math.min(entry.min, value);
      entry.max = Math.max(entry.max, value);
    }
    Object.assign(entry, { last_at: at, source });
    series.set(key, entry);
  };

  const ingest = (line: string): boolean => {
    const document = emfDocument(line);
    if (!document) return false;
    documents.push(document);
    if (documents.length > KEEP_DOCUMENTS) documents.shift();
    const aws = document._aws as { Timestamp: number; CloudWatchMetrics: Directive[] };
    const at = new Date(aws.Timestamp).toISOString();
    const source = typeof document.service === 'string' ? document.service : 'unknown';
    for (const directive of aws.CloudWatchMetrics) {
      for (const metric of directive.Metrics) {
        const raw = document[metric.Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
        for (const set of directive.Dimensions) {
          const dimensions = Object.fromEntries(set.map((key) => [key, String(document[key])]));
          add(directive.Namespace, metric.Name, metric.Unit ?? 'None', dimensions, values, source, at);
        }
      }
    }
    return true;
  };

  return {
    ingest,
    count: (namespace, name, dimensions, source) =>
      add(namespace, name, 'Count', dimensions, [1], source, new Date().toISOString()),
    series: () => [...series.values()].sort((a, b) => a.name.localeCompare(b.name)),
    documents: () => [...documents],
    tapStdout: (echo) => tap({ ingest, echo }),
  };
}

/** The document when the line is one EMF object (`_aws.CloudWatchMetrics` an array), else undefined. */
function emfDocument(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{') || !line.includes('"_aws"')) return undefined;
  try {
    const document = JSON.parse(line) as Record<string, unknown>;
    const aws = document._aws as { CloudWatchMetrics?: unknown; Timestamp?: unknown } | undefined;
    return Array.isArray(aws?.CloudWatchMetrics) && typeof aws.Timestamp === 'number' ? document : undefined;
  } catch {
    return undefined;
  }
}

interface Listener {
  ingest(line: string): boolean;
  echo: boolean;
}

// One tap for the process, however many local clouds run in it (a test file may start several).
const listeners = new Set<Listener>();
let untapped: typeof process.stdout.write | undefined;

function tap(listener: Listener): () => void {
  listeners.add(listener);
  if (!untapped) {
    const original = process.stdout.write;
    untapped = original;
    process.stdout.write = function write(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      if (!text.includes('"_aws"')) return original.call(this, chunk as string, ...(rest as []));
      const lines = text.split('\n').filter(Boolean);
      let echo = false;
      for (const l of listeners) {
        const emf = lines.map((line) => l.ingest(line)).every(Boolean);
        echo ||= l.echo || !emf;
      }
      if (echo) return original.call(this, chunk as string, ...(rest as []));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      if (callback) process.nextTick(callback);
      return true;
    } as typeof process.stdout.write;
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && untapped) {
      process.stdout.write = untapped;
      untapped = undefined;
    }
  };
}
