/**
 * Section 3: throughput of the local API (gateway + JWT authorizer + handler, all in this process)
 * next to the most the same DynamoDB work can do through the SDK from this process. Both are bound
 * by one event loop, so the ratio says how much of it the platform code takes; the absolute req/s
 * are a laptop's, not Lambda's (which runs one request per sandbox).
 */
import autocannon from 'autocannon';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { bareProjectRead } from './overhead.ts';
import { ms, percentile, ratio, table } from './stats.ts';

export interface ThroughputReport {
  connections: number;
  durationSeconds: number;
  api: { reqPerSec: number; p50: number; p99: number; requests: number; non2xx: number; errors: number };
  bare: { reqPerSec: number; p50: number; p99: number; requests: number };
  /** api / bare req/s. */
  ratio: number;
}

export async function measureThroughput(
  cloud: LocalCloud,
  projectId: string,
  token: string,
  { connections = 32, durationSeconds = 10 } = {},
): Promise<ThroughputReport> {
  const warmupSeconds = Math.min(2, durationSeconds);
  const result = await autocannon({
    url: `${cloud.url}/api/v1/projects/${projectId}`,
    headers: { authorization: `Bearer ${token}` },
    connections,
    duration: durationSeconds,
    // The load generator runs on its own thread: on the gateway's event loop it would take the
    // very CPU it is measuring.
    workers: 1,
    warmup: { connections, duration: warmupSeconds },
  });
  const api = {
    reqPerSec: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };

  await bareLoop(cloud, projectId, connections, warmupSeconds);
  const bare = await bareLoop(cloud, projectId, connections, durationSeconds);
  return { connections, durationSeconds, api, bare, ratio: api.reqPerSec / bare.reqPerSec };
}

/** `workers` async loops each sending the handler's BatchGetItem back to back for `seconds`. */
async function bareLoop(cloud: LocalCloud, projectId: string, workers: number, seconds: number) {
  const { client, command } = bareProjectRead(cloud.tableName, projectId);
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await client.send(command);
      latencies.push(performance.now() - t);
    }
  };
  try {
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    client.destroy();
  }
  const elapsedSeconds = (performance.now() - start) / 1000;
  return {
    reqPerSec: latencies.length / elapsedSeconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests: latencies.length,
  };
}

export function throughputMarkdown(report: ThroughputReport): string {
  const { api, bare } = report;
  const rps = (value: number) => value.toFixed(0);
  return [
    '## Local API throughput',
    '',
    `${report.connections} concurrent connections (autocannon, on a worker thread) or ${report.connections} concurrent SDK loops, ${report.durationSeconds} s each after a warm-up.`,
    '',
    table(
      ['', 'req/s', 'p50', 'p99', 'requests', 'non-2xx', 'errors'],
      [
        [
          '`GET /api/v1/projects/{id}` via local API',
          rps(api.reqPerSec),
          ms(api.p50, 1),
          ms(api.p99, 1),
          String(api.requests),
          String(api.non2xx),
          String(api.errors),
        ],
        [
          'bare SDK BatchGet loop',
          rps(bare.reqPerSec),
          ms(bare.p50, 1),
          ms(bare.p99, 1),
          String(bare.requests),
          '',
          '',
        ],
        ['**API / bare**', ratio(report.ratio), '', '', '', '', ''],
      ],
    ),
  ].join('\n');
}
